//! Reports of a [`crate::summary::Summary`]: a terminal text report and a self-contained HTML page.

pub mod fmt;
pub mod html;
pub mod text;
pub mod usage;
