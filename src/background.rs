//! Work that runs beside ingest rather than in its way: on threads of its
//! own, at a lower CPU priority (Linux `nice`), so that when a cycle and
//! background work both want the cores, the cycle gets them first. Queries
//! ([`crate::query`]'s pool) and lake maintenance run this way.
use tokio::sync::oneshot;

/// Lowers the calling thread's CPU priority by `nice` (to 19 at most). On
/// Linux the nice value is a per-thread attribute: `setpriority(PRIO_PROCESS,
/// 0, ..)` changes the calling thread only. Raising a nice value needs no
/// privilege; should it fail all the same, the thread runs at its priority.
pub(crate) fn lower_priority(nice: i32) {
    if nice <= 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    // SAFETY: getpriority and setpriority only read their integer arguments.
    unsafe {
        let now = libc::getpriority(libc::PRIO_PROCESS, 0);
        libc::setpriority(libc::PRIO_PROCESS, 0, (now + nice).min(19));
    }
}

/// Runs `task` on a runtime of its own, on threads `nice` below the
/// caller's priority: lake maintenance merges, sorts and compresses
/// gigabytes, and delta-rs runs that as ordinary tasks, one per CPU, each
/// busy for long stretches between awaits. On the service's runtime they
/// would hold the worker threads that cycles, queries and the HTTP server
/// wait for; at ingest's priority they would take half the cores from a
/// cycle (at 100,000 streams the slowest cycle of a run, during a
/// compaction, took 4.3 s; niced, 3.4–3.5 s). The handle ends when the
/// task does (or panics).
pub(crate) fn spawn_apart<F>(
    name: &'static str,
    nice: i32,
    task: F,
) -> std::io::Result<tokio::task::JoinHandle<()>>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name(name)
        .on_thread_start(move || lower_priority(nice))
        .enable_all()
        .build()?;
    let (done, ended) = oneshot::channel::<()>();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            lower_priority(nice);
            runtime.block_on(task);
            drop(done);
        })?;
    // The sender is dropped when the thread ends, whether or not it panicked.
    Ok(tokio::spawn(async move {
        let _ = ended.await;
    }))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn nice_of_this_thread() -> i32 {
        // SAFETY: getpriority only reads its integer arguments.
        unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }
    }

    #[tokio::test]
    async fn work_apart_runs_at_a_lower_priority_and_its_handle_ends_with_it() {
        let (tx, rx) = oneshot::channel();
        let handle = spawn_apart("tm-test-apart", 5, async move {
            let outer = nice_of_this_thread();
            // Tasks it spawns run on its runtime's workers, niced too.
            let inner = tokio::spawn(async { nice_of_this_thread() }).await.unwrap();
            let name = std::thread::current().name().map(str::to_owned);
            let _ = tx.send((outer, inner, name));
        })
        .unwrap();
        let (outer, inner, name) = rx.await.unwrap();
        let want = (nice_of_this_thread() + 5).min(19);
        assert_eq!((outer, inner), (want, want));
        assert_eq!(name.as_deref(), Some("tm-test-apart"));
        handle.await.unwrap();
        // A task that panics ends its handle too, rather than hanging it.
        let handle = spawn_apart("tm-test-apart", 5, async { panic!("on purpose") }).unwrap();
        handle.await.unwrap();
    }
}
