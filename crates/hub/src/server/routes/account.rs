//! `GET /api/whoami-v2`.

use axum::response::Response;
use serde_json::json;

use super::json;
use crate::error::{HubError, Result};
use crate::server::{blocking, Ctx};
use crate::time::iso;

pub async fn whoami(ctx: Ctx) -> Result<Response> {
    let hub = ctx.hub();
    let caller = ctx.caller.clone();
    let v = blocking(move || {
        let Some(name) = &caller.user else {
            return Err(HubError::Unauthorized("whoami needs a token (Authorization: Bearer)".into()));
        };
        let user = hub.meta.user(name)?.ok_or_else(|| HubError::Unauthorized("the token's user no longer exists".into()))?;
        let orgs: Vec<_> = hub.meta.orgs_of(name)?.into_iter().map(|(o, r)| json!({ "type": "org", "name": o, "fullname": o, "roleInOrg": r.as_str() })).collect();
        Ok(json!({
            "type": "user",
            "id": user.name,
            "name": user.name,
            "fullname": user.fullname,
            "email": user.email,
            "emailVerified": user.email.is_some(),
            "canPay": false,
            "isPro": false,
            "createdAt": iso(user.created_ms),
            "orgs": orgs,
            "auth": { "type": "access_token", "accessToken": { "displayName": caller.token_name, "role": caller.scope.as_str() } },
        }))
    })
    .await?;
    Ok(json(v))
}
