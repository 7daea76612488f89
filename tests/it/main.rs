//! Integration tests: one binary, one module per area.
mod crash;
mod flight;
mod helix;
mod http;
mod lake;
mod live;
mod pipeline;
mod rig;
