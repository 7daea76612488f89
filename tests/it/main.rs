//! Integration tests: one binary, one module per area.
mod crash;
mod flight;
mod helix;
mod lake;
mod pipeline;
mod rig;
