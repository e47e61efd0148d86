//! Timing.
