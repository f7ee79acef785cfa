//! JSON Schema of the scenario language (v1), derived from the typed model, for editors and for
//! `cpmconf schema`.

use crate::scenario::Scenario;

/// The JSON Schema (draft-07, as the upper-tester schema: the draft editors' YAML plugins know
/// best) of a scenario file.
pub fn scenario_schema() -> serde_json::Value {
    let schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<Scenario>();
    serde_json::to_value(schema).unwrap_or(serde_json::Value::Null)
}

/// The schema as pretty JSON text.
pub fn scenario_schema_string() -> String {
    serde_json::to_string_pretty(&scenario_schema()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_the_step_kinds_and_refuses_unknown_keys() {
        let s = scenario_schema_string();
        for word in [
            "expect_none",
            "wait_for",
            "any_order",
            "verifies",
            "feature_tags",
            "\"additionalProperties\": false",
        ] {
            assert!(s.contains(word), "schema lacks {word}");
        }
    }
}
