//! Unit tests of rule parsing and of evaluation, kind by kind.
mod eval;
mod harness;
mod parse;
mod scan;
mod split;
