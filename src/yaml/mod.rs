//! YAML: a position tree for locating errors, a fast parser into JSON values for rendered
//! templates, and the emitter that writes the output.

pub mod emit;
pub mod tree;
pub mod values;
pub mod words;
