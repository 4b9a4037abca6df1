//! The marks obsboot puts on everything it renders, so that later runs and teardown touch
//! only what carries them.

use super::object::Object;

/// The standard label naming the tool that manages an object.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Its value on every object obsboot renders.
pub const MANAGER: &str = "obsboot";
/// The label naming the stack an object belongs to.
pub const STACK_LABEL: &str = "obsboot.dev/stack";
/// On namespaces: every stack that lives in it, comma-separated.
pub const STACKS_ANNOTATION: &str = "obsboot.dev/stacks";

/// Sets the ownership labels on `object`.
pub fn own(object: &mut Object) -> Result<(), serde_json::Error> {
    let mut metadata = object.metadata()?;
    let labels = metadata.labels.get_or_insert_with(Default::default);
    labels.insert(MANAGED_BY.into(), MANAGER.into());
    labels.insert(STACK_LABEL.into(), object.stack.name().into());
    object.set_metadata(&metadata)
}
