//! The example in docs/scenario-language.md loads and validates against the shipped catalogue,
//! and a broken copy of it is refused with positions.

use cpmconf_engine::catalogue::Catalogue;
use cpmconf_engine::scenario::parse_scenario;
use cpmconf_engine::validate::validate;

fn example() -> String {
    let doc = include_str!("../../../docs/scenario-language.md");
    let start = doc
        .find("## Example")
        .expect("the doc has an Example section");
    let rest = &doc[start..];
    let open = rest.find("```yaml\n").expect("a yaml block") + "```yaml\n".len();
    let close = rest[open..].find("```").expect("a closed yaml block");
    rest[open..open + close].to_string()
}

#[test]
fn documented_example_is_valid() {
    let cat = Catalogue::embedded().unwrap();
    let loaded = parse_scenario(&example(), "docs/scenario-language.md").unwrap();
    assert_eq!(loaded.scenario.steps.len(), 7);
    let diags = validate(&loaded, &cat);
    assert!(diags.is_empty(), "{diags:?}");
}

#[test]
fn broken_example_is_refused() {
    let cat = Catalogue::embedded().unwrap();
    let text = example().replace("answers: cf_invite", "answers: cf_invit");
    let loaded = parse_scenario(&text, "ex.yaml").unwrap();
    let diags: Vec<String> = validate(&loaded, &cat)
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(
        diags[0].starts_with("ex.yaml:28:") && diags[0].contains("cf_invit"),
        "{diags:?}"
    );
}
