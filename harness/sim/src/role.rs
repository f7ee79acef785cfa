//! The roles the sim plays: the core, the registrar, the Controlling Function (`cf`), the
//! Participating Function for deferred messaging (`pf`) and remote users, with the string
//! forms scenarios and goldens use.

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

/// A role of the sim. Every string names one: the four service names, else a remote user.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Role {
    /// The core (P-CSCF/S-CSCF), `core`.
    Core,
    /// The registrar, `registrar`.
    Registrar,
    /// The Controlling Function (conference focus), `cf`.
    Cf,
    /// The Participating Function (store-and-forward), `pf`.
    Pf,
    /// A remote user, by user part (`bob`).
    User(String),
}

impl Role {
    /// The role a string names (the inverse of [`Role::as_str`]).
    pub fn parse(s: &str) -> Role {
        match s {
            "core" => Role::Core,
            "registrar" => Role::Registrar,
            "cf" => Role::Cf,
            "pf" => Role::Pf,
            user => Role::User(user.to_owned()),
        }
    }

    /// The string form (`core`, `registrar`, `cf`, `pf`, or the user part).
    pub fn as_str(&self) -> &str {
        match self {
            Role::Core => "core",
            Role::Registrar => "registrar",
            Role::Cf => "cf",
            Role::Pf => "pf",
            Role::User(u) => u,
        }
    }
}

impl FromStr for Role {
    type Err = Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Role::parse(s))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("core", Role::Core)]
    #[case("registrar", Role::Registrar)]
    #[case("cf", Role::Cf)]
    #[case("pf", Role::Pf)]
    #[case("bob", Role::User("bob".into()))]
    #[case("CF", Role::User("CF".into()))]
    fn string_forms_round_trip(#[case] s: &str, #[case] role: Role) {
        assert_eq!(Role::parse(s), role);
        assert_eq!(s.parse::<Role>(), Ok(role.clone()));
        assert_eq!(role.to_string(), s);
    }
}
