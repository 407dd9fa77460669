//! A request's answer schema narrowed to the values this request allows (the
//! labels of the conversations it sent), so that a provider which enforces
//! schemas cannot even produce a label that was not sent. Answers are still
//! checked: not every provider enforces a schema.

/// `schema` (JSON Schema text) with `values` as the only ones allowed at
/// `pointer` (a JSON pointer to a string's schema, e.g.
/// `/properties/evidence/items`). The schema unchanged if `pointer` is not in it.
pub fn with_enum(schema: &str, pointer: &str, values: &[String]) -> String {
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(schema) else {
        return schema.to_string();
    };
    match value
        .pointer_mut(pointer)
        .and_then(serde_json::Value::as_object_mut)
    {
        Some(node) => {
            node.insert("enum".to_string(), serde_json::json!(values));
            value.to_string()
        }
        None => schema.to_string(),
    }
}
