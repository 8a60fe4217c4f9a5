//! The pipeline door's bearer tokens: a token is known by the SHA-256 the config holds,
//! compared in constant time, and acts as `token:<name>` with the roles its scopes grant.

use super::problem::Problem;
use crate::config::{ApiToken, Config, Scope};
use crate::domain::{Role, UserId};
use crate::service::Actor;
use axum::http::{HeaderMap, StatusCode};

/// The configured token whose secret is `presented`, if any. Every hash is compared, and each
/// comparison takes the same time, so the answer's timing tells nothing of a near miss.
pub fn known<'a>(tokens: &'a [ApiToken], presented: &str) -> Option<&'a ApiToken> {
    let hash = crate::tokens::sha256(presented);
    let mut found = None;
    for token in tokens {
        let difference = token
            .sha256
            .iter()
            .zip(hash)
            .fold(0_u8, |acc, (a, b)| acc | (a ^ b));
        if difference == 0 {
            found = Some(token);
        }
    }
    found
}

/// The token a request presents, checked to hold `scope`.
pub fn authorize<'a>(
    tokens: &'a [ApiToken],
    headers: &HeaderMap,
    scope: Scope,
) -> Result<&'a ApiToken, Problem> {
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    let Some(presented) = presented else {
        return Err(Problem::unauthorized(
            "send the pipeline's token as `Authorization: Bearer <token>`",
        ));
    };
    let Some(token) = known(tokens, presented) else {
        return Err(Problem::unauthorized("the token is not one gonogo knows"));
    };
    if !token.scopes.contains(&scope) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "the token `{}` lacks the `{}` scope; issue one with it using `gonogo token new`",
                token.name,
                scope.as_str()
            ),
        ));
    }
    Ok(token)
}

/// Who a token acts as: `token:<name>`, holding the roles its scopes need on the write path,
/// for `on_behalf_of` when it plans for a person (whom the self-approval ban then covers).
pub fn actor(token: &ApiToken, config: &Config, on_behalf_of: Option<UserId>) -> Actor {
    let mut roles = Vec::new();
    for scope in &token.scopes {
        match scope {
            Scope::Plan => roles.extend(config.policies.planners.iter().copied()),
            Scope::Deploy => roles.push(Role::Deployer),
            Scope::Read | Scope::Check => {}
        }
    }
    roles.sort();
    roles.dedup();
    Actor {
        id: on_behalf_of.unwrap_or(UserId(0)),
        name: format!("token:{}", token.name),
        roles,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(name: &str, secret: &str, scopes: Vec<Scope>) -> ApiToken {
        ApiToken {
            name: name.to_owned(),
            sha256: crate::tokens::sha256(secret),
            scopes,
        }
    }

    fn bearer(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", value.parse().unwrap());
        headers
    }

    #[test]
    fn a_token_is_known_by_its_hash_and_must_hold_the_scope() {
        let tokens = [
            token("ci", "gng_secret", vec![Scope::Read, Scope::Plan]),
            token("deployer", "gng_other", vec![Scope::Deploy]),
        ];
        let ok = authorize(&tokens, &bearer("Bearer gng_secret"), Scope::Plan).unwrap();
        assert_eq!(ok.name, "ci");
        let ok = authorize(&tokens, &bearer("bearer  gng_other "), Scope::Deploy).unwrap();
        assert_eq!(ok.name, "deployer");
        let status =
            |headers: &HeaderMap, scope| authorize(&tokens, headers, scope).unwrap_err().status;
        assert_eq!(status(&bearer("Bearer gng_secret"), Scope::Deploy), 403);
        assert_eq!(status(&bearer("Bearer gng_secre"), Scope::Read), 401);
        assert_eq!(status(&bearer("Basic gng_secret"), Scope::Read), 401);
        assert_eq!(status(&HeaderMap::new(), Scope::Read), 401);
    }
}
