//! Integration tests: one binary, one module per area.
mod crash;
mod helix;
mod pipeline;
mod rig;
