//! The simulated Twitch: a deterministic [`world::World`] and a local Helix
//! server over it ([`server`]), the demo default and the test double.
pub mod server;
pub mod world;

pub use server::{SimServer, SimServerArgs};
pub use world::{World, WorldConfig};
