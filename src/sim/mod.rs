//! The simulated Twitch: a deterministic [`world::World`], its chat
//! ([`chat`]), and local servers over them — Helix ([`server`], which also
//! starts the chat server) and IRC ([`irc`]) — the demo default and the test
//! double.
pub mod chat;
pub mod irc;
pub mod server;
pub mod world;

pub use server::{SimServer, SimServerArgs};
pub use world::{World, WorldConfig};
