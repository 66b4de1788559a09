//! `setting`: a named application setting compared with a threshold. A missing value is its own
//! outcome ("not evidenced"), never a pass.

use super::*;
use crate::model::{Setting, SettingValue};
use crate::pack::{Condition, Op};
use serde_json::Value;

/// Whether `setting` satisfies `cond`; Err explains a type mismatch.
fn holds(setting: &Setting, cond: &Condition) -> Result<bool, String> {
    let v = &setting.value;
    match cond.op {
        Op::Present => Ok(true),
        Op::Empty => match v {
            SettingValue::List(l) => Ok(l.is_empty()),
            SettingValue::Str(s) => Ok(s.is_empty()),
            _ => Err(format!("{} is not a list", cond.key)),
        },
        Op::Le | Op::Ge => {
            let want = cond.value.as_i64().ok_or("threshold is not an integer")?;
            match v {
                SettingValue::Int(i) => Ok(if cond.op == Op::Le {
                    *i <= want
                } else {
                    *i >= want
                }),
                other => Err(format!("{} is {}, not a number", cond.key, other.render())),
            }
        }
        Op::Eq | Op::Ne => {
            let eq = scalar_eq(v, &cond.value);
            Ok(if cond.op == Op::Eq { eq } else { !eq })
        }
        Op::In | Op::NotIn => {
            let list = cond.value.as_array().ok_or("value is not a list")?;
            let found = list.iter().any(|x| scalar_eq(v, x));
            Ok(if cond.op == Op::In { found } else { !found })
        }
    }
}

fn scalar_eq(v: &SettingValue, want: &Value) -> bool {
    match (v, want) {
        (SettingValue::Bool(a), Value::Bool(b)) => a == b,
        (SettingValue::Int(a), Value::Number(n)) => n.as_i64() == Some(*a),
        (SettingValue::Str(a), Value::String(b)) => a == b,
        _ => false,
    }
}

pub fn check(
    req: &Requirement,
    ctx: &Ctx,
    cond: &Condition,
    unless: Option<&Condition>,
) -> Outcome {
    let settings = &ctx.config.settings;
    if let Some(u) = unless {
        if let Some(s) = settings.get(&u.key) {
            if holds(s, u) == Ok(true) {
                return Outcome::pass(Some(s.span));
            }
        }
    }
    let Some(setting) = settings.get(&cond.key) else {
        let exemption = unless
            .map(|u| format!(" (or {})", u.render()))
            .unwrap_or_default();
        let anchor = ctx
            .config
            .setting_anchors
            .get(&cond.key)
            .copied()
            .unwrap_or_else(|| ctx.config.file_anchor(ctx.file));
        let f = finding(
            req,
            anchor,
            format!(
                "{} is not set in this dump: not evidenced; required {}{exemption}",
                cond.key,
                cond.render()
            ),
            format!("{} missing", cond.key),
        );
        return Outcome::with(Status::NotEvidenced, vec![f]);
    };
    match holds(setting, cond) {
        Ok(true) => Outcome::pass(Some(setting.span)),
        Ok(false) => {
            let exemption = unless
                .map(|u| format!(" (or {})", u.render()))
                .unwrap_or_default();
            let value = match &setting.value {
                SettingValue::List(l) => {
                    format!("{} entr{}", l.len(), if l.len() == 1 { "y" } else { "ies" })
                }
                other => other.render(),
            };
            let mut f = finding(
                req,
                setting.span,
                format!(
                    "{} is {value}; required {}{exemption}",
                    cond.key,
                    cond.render()
                ),
                format!("{} = {value}", cond.key),
            );
            if let SettingValue::List(items) = &setting.value {
                for (name, span) in items.iter().zip(setting.item_spans.iter()) {
                    f.related.push(related(*span, name.clone()));
                }
            }
            Outcome::with(Status::Fail, vec![f])
        }
        Err(why) => {
            let f = finding(
                req,
                setting.span,
                format!("{why}; required {}", cond.render()),
                "unexpected type",
            );
            Outcome::with(Status::Fail, vec![f])
        }
    }
}
