//! `POST /admin/v1/plan`: the body is a config file (TOML); the answer is what it would do
//! to today's directory — the same JSON as `idp-sync plan --json`, from the same planner
//! ([`crate::reconcile::plan`]). Nothing is changed. Administrator tokens only: a config
//! names files on the server (metadata, templates), which validation reads. Secrets are
//! not read (the environment is not consulted), so parts that need one are simply off.

use super::users::store_error;
use super::{AdminClient, bad, require_top_role};
use crate::config::{ConfigErrors, Env};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::reconcile::plan::{Plan, load_directory, plan as make_plan};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub async fn plan(
    admin: AdminClient,
    State(state): State<AppState>,
    body: String,
) -> Result<Response, ApiError> {
    require_top_role(&admin, "plan a config")?;
    if body.trim().is_empty() {
        return Err(bad(
            "ADMIN-BAD-BODY",
            "send the config file (TOML) as the request body",
        ));
    }
    let config = match load_posted(body).await? {
        Ok(config) => config,
        Err(errors) => {
            let problems: Vec<_> = errors
                .iter()
                .map(|p| json!({ "path": p.path, "message": p.message }))
                .collect();
            let body = json!({ "error": {
                "code": "ADMIN-INVALID-CONFIG",
                "message": format!("the posted config has {} problem(s)", problems.len()),
                "problems": problems,
            }});
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response());
        }
    };
    let mut read = state.store.read().await.map_err(store_error)?;
    let directory = load_directory(read.as_mut()).await.map_err(store_error)?;
    drop(read);
    let result: Plan = make_plan(
        &config.policy,
        &directory,
        config.removal.mass_threshold,
        config.removal.mass_minimum,
    );
    Ok(Json(result).into_response())
}

/// Validates the posted text as a config file, with no environment (no overrides, no
/// secrets). The loader reads a file, so the text goes to a private temporary one.
async fn load_posted(
    text: String,
) -> Result<Result<crate::config::Config, ConfigErrors>, ApiError> {
    tokio::task::spawn_blocking(move || {
        let path =
            std::env::temp_dir().join(format!("idp-sync-plan-{}.toml", uuid::Uuid::new_v4()));
        std::fs::write(&path, text.as_bytes())
            .map_err(|e| ApiError::Internal(format!("cannot write the posted config: {e}")))?;
        let shown = path.display().to_string();
        let loaded =
            crate::config::load_with(&path, &Env::from_map(Vec::<(String, String)>::new()));
        let _ = std::fs::remove_file(&path);
        Ok(loaded.map_err(|mut errors| {
            for p in &mut errors.problems {
                p.path = p.path.replace(&shown, "body");
                p.message = p.message.replace(&shown, "body");
            }
            errors
        }))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("config check failed: {e}")))?
}
