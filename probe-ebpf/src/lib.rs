//! This file exists to enable the library target.
#![no_std]
