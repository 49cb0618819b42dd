//! Posted forms' fields (the [`super::csrf`] layer has checked where they come from).

use std::collections::HashMap;

/// A posted form's fields.
pub(super) type Fields = HashMap<String, String>;

/// A field's value, empty when absent.
pub(super) fn value<'a>(form: &'a Fields, key: &str) -> &'a str {
    form.get(key).map(String::as_str).unwrap_or("")
}
