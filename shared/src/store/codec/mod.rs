//! One pure codec per kind of item that more than one aggregate reads:
//! domain values to attribute maps and back, and the keys and list
//! partitions they are stored under. No I/O here.

pub mod activity;
pub mod article;
pub mod review;
pub mod user;
