//! portaudit: compliance-as-code for contact-centre network and security requirements.
#![forbid(unsafe_code)]

pub mod model;
pub mod sets;
pub mod source;
pub mod yaml;
pub mod formats;
