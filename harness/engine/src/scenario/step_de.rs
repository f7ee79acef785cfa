//! Deserialisation of steps from single-key maps (`- expect: {...}`): serde_yaml 0.9 reads
//! externally tagged enums only from `!tag` syntax, so the map form is read here by hand, keeping
//! the YAML positions in errors.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::model::{GroupItem, Step};

const STEP_KINDS: &[&str] = &[
    "do",
    "send",
    "expect",
    "expect_none",
    "parallel",
    "any_order",
    "wait_for",
];
const GROUP_KINDS: &[&str] = &["expect", "expect_none", "wait_for"];

struct StepVisitor;

impl<'de> Visitor<'de> for StepVisitor {
    type Value = Step;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a step: a map with one key, one of {}",
            STEP_KINDS.join(", ")
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Step, A::Error> {
        let Some(key) = map.next_key::<String>()? else {
            return Err(de::Error::custom(format!(
                "empty step: expected one of {}",
                STEP_KINDS.join(", ")
            )));
        };
        let step = match key.as_str() {
            "do" => Step::Do(map.next_value()?),
            "send" => Step::Send(map.next_value()?),
            "expect" => Step::Expect(map.next_value()?),
            "expect_none" => Step::ExpectNone(map.next_value()?),
            "parallel" => Step::Parallel(map.next_value()?),
            "any_order" => Step::AnyOrder(map.next_value()?),
            "wait_for" => Step::WaitFor(map.next_value()?),
            other => return Err(de::Error::unknown_variant(other, STEP_KINDS)),
        };
        if let Some(extra) = map.next_key::<String>()? {
            return Err(de::Error::custom(format!(
                "a step holds exactly one key; `{extra}` follows `{key}` (indent it under `{key}:`?)"
            )));
        }
        Ok(step)
    }
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Step, D::Error> {
        d.deserialize_map(StepVisitor)
    }
}

struct GroupVisitor;

impl<'de> Visitor<'de> for GroupVisitor {
    type Value = GroupItem;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a group item: a map with one key, one of {}",
            GROUP_KINDS.join(", ")
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<GroupItem, A::Error> {
        let Some(key) = map.next_key::<String>()? else {
            return Err(de::Error::custom(format!(
                "empty group item: expected one of {}",
                GROUP_KINDS.join(", ")
            )));
        };
        let item = match key.as_str() {
            "expect" => GroupItem::Expect(map.next_value()?),
            "expect_none" => GroupItem::ExpectNone(map.next_value()?),
            "wait_for" => GroupItem::WaitFor(map.next_value()?),
            other => return Err(de::Error::unknown_variant(other, GROUP_KINDS)),
        };
        if let Some(extra) = map.next_key::<String>()? {
            return Err(de::Error::custom(format!(
                "a group item holds exactly one key; `{extra}` follows `{key}`"
            )));
        }
        Ok(item)
    }
}

impl<'de> Deserialize<'de> for GroupItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<GroupItem, D::Error> {
        d.deserialize_map(GroupVisitor)
    }
}
