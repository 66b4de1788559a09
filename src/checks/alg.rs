//! `sip-alg`: the device's SIP ALG / SIP helper is in the required state.

use super::*;

pub fn check(req: &Requirement, ctx: &Ctx, want_enabled: bool) -> Outcome {
    let want = if want_enabled { "on" } else { "off" };
    let Some(state) = &ctx.config.features.sip_alg else {
        let mut f = finding(
            req,
            ctx.config.file_anchor(ctx.file),
            format!(
                "the SIP ALG state cannot be read from this {} export; it must be {want}",
                ctx.config.format.id()
            ),
            "SIP ALG state not evidenced",
        );
        f.uncertain = true;
        return Outcome::with(Status::NotEvidenced, vec![f]);
    };
    if state.enabled == want_enabled {
        return Outcome::pass(Some(state.span));
    }
    let have = if state.enabled { "on" } else { "off" };
    let default_note = if state.default {
        " (vendor default)"
    } else {
        ""
    };
    let mut f = finding(
        req,
        state.span,
        format!(
            "SIP ALG is {have}{default_note}, must be {want}: {}",
            state.reason
        ),
        format!("SIP ALG {have}{default_note}"),
    );
    f.from_default = state.default;
    f.related = state
        .related
        .iter()
        .map(|(s, m)| related(*s, m.clone()))
        .collect();
    Outcome::with(Status::Fail, vec![f])
}
