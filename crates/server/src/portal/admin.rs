//! Operator actions on the portal's records that run without the server (`sparkplane admin`).

use sparkplane_iam::PrincipalKind;
use sparkplane_store::{AuditEvent, Outcome, PrincipalRecord, Store};

use crate::{ServerError, Settings};

/// The one user `who` names (principal id, name or e-mail).
pub fn find_user(store: &Store, who: &str) -> Result<PrincipalRecord, ServerError> {
    let matches: Vec<PrincipalRecord> = store
        .principals(PrincipalKind::User)
        .into_iter()
        .filter(|p| {
            p.id == who
                || p.name == who
                || p.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(who))
        })
        .collect();
    match matches.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(ServerError::Config(format!(
            "no user `{who}` (start `sparkplane serve` once to create the bootstrap Administrator)"
        ))),
        _ => Err(ServerError::Config(format!(
            "`{who}` names several users; pass the principal id (usr-…)"
        ))),
    }
}

/// Set the portal password of user `who` (argon2id), audited; ends the user's sessions.
pub async fn set_password(
    settings: &Settings,
    who: &str,
    password: &str,
) -> Result<PrincipalRecord, ServerError> {
    let hash = super::password::hash(password).map_err(|e| ServerError::Config(e.to_string()))?;
    let (store, _) = crate::at_rest::open_store(
        &settings.database_url,
        settings.master_key_file.as_deref(),
        &settings.data_dir,
    )
    .await?;
    let result = async {
        let p = find_user(&store, who)?;
        let mut ev = AuditEvent::new(
            "portal.password.set",
            &format!("/v1/users/{}", p.id),
            Outcome::Success,
            200,
            "cli",
        );
        ev.principal_id = Some(p.id.clone());
        ev.detail = Some("sparkplane admin set-password".into());
        store.set_portal_password(&p.id, &hash, &ev).await?;
        Ok(p)
    }
    .await;
    store.close().await;
    result
}
