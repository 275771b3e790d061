//! Personal data protection: encryption at rest with lookup hashes, masking
//! for display.

pub mod audit;
pub mod cipher;
pub mod keystore;
pub mod mask;

pub use cipher::DataCipher;
