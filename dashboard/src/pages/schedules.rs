//! Schedules: create and edit (with a preview of the next runs), delete, enable/disable,
//! run now, history. The form's "Preview" button sends the same fields to this page by
//! GET, so the preview needs no JavaScript; "Create"/"Save" post them to a server
//! function, and a refused post comes back with every typed value kept.
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::de::DeserializeOwned;

use crate::{
    app::{Layout, load_error},
    client::Api,
    form::{FieldError, FormError, FormNotice, error_of, optional_number},
    operations::{
        CreateSchedule, DeleteSchedule, DisableSchedule, EnableSchedule, RunScheduleNow,
        ScheduleHistory, SchedulePreview, Schedules, UpdateSchedule, create_schedule,
        delete_schedule, disable_schedule, enable_schedule, run_schedule_now, schedule_history,
        schedule_preview, schedules, update_schedule,
    },
    pages::when,
};

type Schedule = schedules::SchedulesSchedules;

/// The form's fields, as posted, as given in the query, or as a schedule has them.
#[derive(Clone, Debug, Default)]
struct Fields {
    device: String,
    schedule_type: String,
    time_of_day: String,
    day_of_week: String,
    day_of_month: String,
    timezone: String,
    sync_deletions: bool,
    resolve_conflicts: String,
    debounce_seconds: String,
}

impl Fields {
    /// The fields named in a query or a kept form (`get` answers by input name).
    fn read(get: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let schedule_type = get("schedule_type")?;
        let text = |name: &str| get(name).unwrap_or_default();
        Some(Self {
            device: text("device"),
            schedule_type,
            time_of_day: text("time_of_day"),
            day_of_week: text("day_of_week"),
            day_of_month: text("day_of_month"),
            timezone: text("timezone"),
            sync_deletions: get("sync_deletions").is_some_and(|v| !v.is_empty()),
            resolve_conflicts: text("resolve_conflicts"),
            debounce_seconds: text("debounce_seconds"),
        })
    }

    /// What `schedule` has.
    fn of(s: &Schedule) -> Self {
        Self {
            device: format!("{}:{}", s.user_id, s.device_id),
            schedule_type: wire(&s.schedule_type),
            time_of_day: s.time_of_day.clone().unwrap_or_default(),
            day_of_week: s.day_of_week.map(|d| d.to_string()).unwrap_or_default(),
            day_of_month: s.day_of_month.map(|d| d.to_string()).unwrap_or_default(),
            timezone: s.timezone.clone(),
            sync_deletions: s.sync_deletions,
            resolve_conflicts: wire(&s.resolve_conflicts),
            debounce_seconds: s.debounce_seconds.to_string(),
        }
    }
}

/// A GraphQL enum value as the form writes it: `KEEP_NEWEST` → `keep_newest`.
fn wire(value: &impl std::fmt::Debug) -> String {
    format!("{value:?}").to_lowercase()
}

/// The generated enum `T` for the form's `raw` value (`keep_local` → `KEEP_LOCAL`) when it
/// is one of `allowed`, else an error about `field`.
fn choice<T: DeserializeOwned>(
    field: &str,
    raw: &str,
    (allowed, message): (&[&str], &str),
) -> Result<T, FormError> {
    let raw = raw.trim();
    if !allowed.contains(&raw) {
        return Err(FormError::field(field, message));
    }
    serde_json::from_value(serde_json::Value::String(raw.to_ascii_uppercase()))
        .map_err(|_| FormError::field(field, message))
}

const CHOOSE_KIND: (&[&str], &str) = (
    &["daily", "weekly", "monthly", "on_change"],
    "Choose how often it runs.",
);
const CHOOSE_CONFLICTS: (&[&str], &str) = (
    &["keep_newest", "keep_local", "keep_server"],
    "Choose which side wins a conflict.",
);

fn some(raw: &str) -> Option<String> {
    Some(raw.trim().to_owned()).filter(|s| !s.is_empty())
}

/// An optional whole number that must fit the API's `Int`.
fn small_number(field: &str, raw: &str) -> Result<Option<i64>, FormError> {
    match optional_number(field, raw)? {
        Some(n) if i32::try_from(n).is_err() => {
            Err(FormError::field(field, "That number is too large."))
        }
        other => Ok(other),
    }
}

/// Every value of a schedule form, to keep on an error.
#[allow(clippy::too_many_arguments)]
fn kept_values<'a>(
    device: &'a str,
    schedule_type: &'a str,
    time_of_day: &'a str,
    day_of_week: &'a str,
    day_of_month: &'a str,
    timezone: &'a str,
    sync_deletions: Option<&'a str>,
    resolve_conflicts: &'a str,
    debounce_seconds: &'a str,
) -> [(&'a str, &'a str); 9] {
    [
        ("device", device),
        ("schedule_type", schedule_type),
        ("time_of_day", time_of_day),
        ("day_of_week", day_of_week),
        ("day_of_month", day_of_month),
        ("timezone", timezone),
        ("sync_deletions", sync_deletions.unwrap_or_default()),
        ("resolve_conflicts", resolve_conflicts),
        ("debounce_seconds", debounce_seconds),
    ]
}

/// Create a schedule for a device (`USER_ID:DEVICE_ID`), then show it with its next runs.
#[allow(clippy::too_many_arguments)]
#[server(name = CreateScheduleFn, prefix = "/dashboard/fn", endpoint = "schedule/create")]
pub async fn create_schedule(
    device: String,
    schedule_type: String,
    time_of_day: String,
    day_of_week: String,
    day_of_month: String,
    timezone: String,
    #[server(default)] sync_deletions: Option<String>,
    #[server(default)] resolve_conflicts: String,
    #[server(default)] debounce_seconds: String,
) -> Result<(), FormError> {
    let kept = kept_values(
        &device,
        &schedule_type,
        &time_of_day,
        &day_of_week,
        &day_of_month,
        &timezone,
        sync_deletions.as_deref(),
        &resolve_conflicts,
        &debounce_seconds,
    );
    let created = async {
        let (user_id, device_id) = device
            .split_once(':')
            .ok_or_else(|| FormError::field("device", "Choose a device."))?;
        let input = create_schedule::CreateScheduleInput {
            device_id: device_id.to_owned(),
            user_id: Some(user_id.to_owned()),
            schedule_type: choice("schedule_type", &schedule_type, CHOOSE_KIND)?,
            time_of_day: some(&time_of_day),
            day_of_week: optional_number("day_of_week", &day_of_week)?,
            day_of_month: small_number("day_of_month", &day_of_month)?,
            timezone: some(&timezone),
            sync_deletions: sync_deletions.is_some(),
            resolve_conflicts: Some(choice(
                "resolve_conflicts",
                some(&resolve_conflicts).as_deref().unwrap_or("keep_newest"),
                CHOOSE_CONFLICTS,
            )?),
            debounce_seconds: small_number("debounce_seconds", &debounce_seconds)?,
        };
        Ok::<_, FormError>(
            Api::here()
                .run::<CreateSchedule>(create_schedule::Variables { input })
                .await?,
        )
    }
    .await
    .map_err(|e| e.keeping(&kept))?;
    leptos_axum::redirect(&format!(
        "/schedules?created={}",
        created.create_schedule.id
    ));
    Ok(())
}

/// Change every field of a schedule but its device, then show it.
#[allow(clippy::too_many_arguments)]
#[server(name = UpdateScheduleFn, prefix = "/dashboard/fn", endpoint = "schedule/update")]
pub async fn update_schedule(
    edit: String,
    schedule_type: String,
    time_of_day: String,
    day_of_week: String,
    day_of_month: String,
    timezone: String,
    #[server(default)] sync_deletions: Option<String>,
    #[server(default)] resolve_conflicts: String,
    #[server(default)] debounce_seconds: String,
) -> Result<(), FormError> {
    let kept = kept_values(
        "",
        &schedule_type,
        &time_of_day,
        &day_of_week,
        &day_of_month,
        &timezone,
        sync_deletions.as_deref(),
        &resolve_conflicts,
        &debounce_seconds,
    );
    async {
        let input = update_schedule::UpdateScheduleInput {
            schedule_type: Some(choice("schedule_type", &schedule_type, CHOOSE_KIND)?),
            time_of_day: some(&time_of_day),
            day_of_week: optional_number("day_of_week", &day_of_week)?,
            day_of_month: small_number("day_of_month", &day_of_month)?,
            // An emptied zone goes back to the default, as on create.
            timezone: Some(some(&timezone).unwrap_or_else(|| "UTC".into())),
            sync_deletions: Some(sync_deletions.is_some()),
            resolve_conflicts: Some(choice(
                "resolve_conflicts",
                &resolve_conflicts,
                CHOOSE_CONFLICTS,
            )?),
            debounce_seconds: small_number("debounce_seconds", &debounce_seconds)?,
        };
        Api::here()
            .run::<UpdateSchedule>(update_schedule::Variables {
                id: edit.clone(),
                input,
            })
            .await?;
        Ok::<_, FormError>(())
    }
    .await
    .map_err(|e| e.keeping(&kept))?;
    leptos_axum::redirect(&format!("/schedules?saved={edit}"));
    Ok(())
}

/// Delete a schedule once its box is ticked (its past runs stay recorded with the device).
#[server(name = DeleteScheduleFn, prefix = "/dashboard/fn", endpoint = "schedule/delete")]
pub async fn delete_schedule(
    id: String,
    #[server(default)] confirm: Option<String>,
) -> Result<(), FormError> {
    if confirm.is_none() {
        return Err(FormError::field(
            "confirm",
            "Tick the box to delete this schedule.",
        ));
    }
    Api::here()
        .run::<DeleteSchedule>(delete_schedule::Variables { id })
        .await?;
    leptos_axum::redirect("/schedules?deleted=1");
    Ok(())
}

#[server(name = EnableScheduleFn, prefix = "/dashboard/fn", endpoint = "schedule/enable")]
pub async fn enable_schedule(id: String) -> Result<(), FormError> {
    Api::here()
        .run::<EnableSchedule>(enable_schedule::Variables { id })
        .await?;
    Ok(())
}

#[server(name = DisableScheduleFn, prefix = "/dashboard/fn", endpoint = "schedule/disable")]
pub async fn disable_schedule(id: String) -> Result<(), FormError> {
    Api::here()
        .run::<DisableSchedule>(disable_schedule::Variables { id })
        .await?;
    Ok(())
}

#[server(name = RunScheduleNowFn, prefix = "/dashboard/fn", endpoint = "schedule/run")]
pub async fn run_schedule_now(id: String) -> Result<(), FormError> {
    Api::here()
        .run::<RunScheduleNow>(run_schedule_now::Variables { id: id.clone() })
        .await?;
    leptos_axum::redirect(&format!("/schedules?history={id}"));
    Ok(())
}

/// The next five runs of `fields` after now (UTC, RFC 3339), or why there are none.
async fn preview(api: &Api, fields: &Fields) -> Result<Vec<String>, FormError> {
    if fields.schedule_type == "on_change" {
        return Ok(Vec::new());
    }
    let input = schedule_preview::SchedulePreviewInput {
        schedule_type: choice("schedule_type", &fields.schedule_type, CHOOSE_KIND)?,
        time_of_day: fields.time_of_day.trim().to_owned(),
        day_of_week: optional_number("day_of_week", &fields.day_of_week)?,
        day_of_month: small_number("day_of_month", &fields.day_of_month)?,
        timezone: some(&fields.timezone),
    };
    let after = chrono::Utc::now().to_rfc3339();
    Ok(api
        .run::<SchedulePreview>(schedule_preview::Variables { input, after })
        .await?
        .schedule_preview)
}

/// A moment in the schedule's zone, with UTC beside it:
/// `("2026-12-08 02:00 Europe/Berlin", "01:00 UTC")` (the UTC date too when it differs).
fn in_zone(at: &str, zone: &str) -> (String, String) {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(at) else {
        return (at.to_owned(), String::new());
    };
    let utc = t.with_timezone(&chrono::Utc);
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::UTC);
    let local = utc.with_timezone(&tz);
    let same_day = local.date_naive() == utc.date_naive();
    let utc_text = if same_day {
        utc.format("%H:%M UTC").to_string()
    } else {
        utc.format("%Y-%m-%d %H:%M UTC").to_string()
    };
    (
        format!("{} {}", local.format("%a %Y-%m-%d %H:%M"), tz.name()),
        utc_text,
    )
}

/// A run time for people, in the schedule's zone with UTC beside it.
fn zoned(at: &str, zone: &str) -> impl IntoView + use<> {
    let (local, utc) = in_zone(at, zone);
    view! {
        <time datetime=at.to_owned()>{local}</time>
        " "
        <span class="hint utc">{format!("({utc})")}</span>
    }
}

#[component]
pub fn SchedulesPage() -> impl IntoView {
    let api = Api::here();
    let query = use_query_map().get_untracked();
    let queried = Fields::read(|key| query.get(key));
    // A refused post comes back to the address of the last good one: no notice then.
    let refused = query.get("__err").is_some();
    let (created, saved, deleted, history, edit) = (
        query.get("created").filter(|_| !refused),
        query.get("saved").filter(|_| !refused),
        query.get("deleted").is_some() && !refused,
        query.get("history"),
        query.get("edit"),
    );
    let actions = Actions {
        create: ServerAction::new(),
        update: ServerAction::new(),
        delete: ServerAction::new(),
        enable: ServerAction::new(),
        disable: ServerAction::new(),
        run_now: ServerAction::new(),
    };
    let post_error = error_of(actions.create)
        .or_else(|| error_of(actions.update))
        .or_else(|| error_of(actions.delete))
        .or_else(|| error_of(actions.enable))
        .or_else(|| error_of(actions.disable))
        .or_else(|| error_of(actions.run_now));
    view! {
        <Layout title="Schedules" current="/schedules">
            <Suspense fallback=|| "Loading…">
                {move || {
                    let (api, queried, created, saved, history, edit, post_error) = (
                        api.clone(),
                        queried.clone(),
                        created.clone(),
                        saved.clone(),
                        history.clone(),
                        edit.clone(),
                        post_error.clone(),
                    );
                    Suspend::new(async move {
                        let data = match api.run::<Schedules>(schedules::Variables).await {
                            Ok(data) => data,
                            Err(e) => return load_error(e),
                        };
                        let editing = edit
                            .and_then(|id| data.schedules.iter().find(|s| s.id == id).cloned());
                        // What the form shows: what was typed before a refused post, else
                        // the fields of a preview, else the schedule being edited.
                        let kept = post_error
                            .as_ref()
                            .and_then(|e| Fields::read(|key| e.kept(key).map(str::to_owned)));
                        let fields = kept
                            .or_else(|| queried.clone())
                            .or_else(|| editing.as_ref().map(Fields::of))
                            .unwrap_or_default();
                        let previewed = if queried.is_some() {
                            Some(preview(&api, &fields).await)
                        } else {
                            None
                        };
                        let notice = match created.or(saved.clone()).and_then(|id| {
                            data.schedules.iter().find(|s| s.id == id).cloned()
                        }) {
                            Some(s) => {
                                let what = if saved.is_some() { "Schedule saved." } else { "Schedule created." };
                                Some(saved_notice(&api, s, what).await)
                            }
                            None => None,
                        };
                        let history_view = match history {
                            Some(id) => Some(history_panel(&api, &data, id).await),
                            None => None,
                        };
                        view! {
                            {notice}
                            {deleted
                                .then(|| {
                                    view! {
                                        <p class="notice ok" role="status" id="deleted">
                                            "Schedule deleted."
                                        </p>
                                    }
                                })}
                            <FormNotice error=post_error.clone() />
                            {schedule_form(&data, editing, &fields, post_error, previewed, actions)}
                            {schedule_table(&data, actions)}
                            {history_view}
                        }
                            .into_any()
                    })
                }}
            </Suspense>
        </Layout>
    }
}

/// The page's server actions.
#[derive(Clone, Copy)]
struct Actions {
    create: ServerAction<CreateScheduleFn>,
    update: ServerAction<UpdateScheduleFn>,
    delete: ServerAction<DeleteScheduleFn>,
    enable: ServerAction<EnableScheduleFn>,
    disable: ServerAction<DisableScheduleFn>,
    run_now: ServerAction<RunScheduleNowFn>,
}

fn device_name(data: &schedules::ResponseData, user_id: &str, device_id: &str) -> String {
    let user = data
        .users
        .iter()
        .find(|u| u.id == user_id)
        .map_or(user_id, |u| u.username.as_str());
    let device = data
        .all_devices
        .iter()
        .find(|d| d.user_id == user_id && d.device_id == device_id)
        .map_or(device_id, |d| d.name.as_str());
    format!("{user} / {device}")
}

async fn saved_notice(api: &Api, s: Schedule, what: &'static str) -> AnyView {
    let runs = preview(api, &Fields::of(&s)).await.unwrap_or_default();
    let zone = s.timezone.clone();
    view! {
        <div class="notice ok" role="status" id="created">
            <strong>{what}</strong>
            {(!runs.is_empty())
                .then(|| {
                    view! {
                        " Its next runs:"
                        <ul class="preview">
                            {runs.iter().map(|r| view! { <li>{zoned(r, &zone)}</li> }).collect_view()}
                        </ul>
                    }
                })}
        </div>
    }
    .into_any()
}

/// The API's `day_of_week` numbers, 0 = Monday.
const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// `6` → `Sunday`; a number out of range is shown as it is.
fn weekday(day: i64) -> String {
    usize::try_from(day)
        .ok()
        .and_then(|d| WEEKDAYS.get(d))
        .map_or_else(|| format!("weekday {day}"), |name| (*name).to_owned())
}

/// Who wins a conflict, for people.
fn conflicts_label(value: &str) -> &'static str {
    match value {
        "keep_local" => "the device's copy",
        "keep_server" => "the server's copy",
        _ => "the newest copy",
    }
}

fn option(value: &str, label: &str, current: &str) -> impl IntoView + use<> {
    view! {
        <option value=value.to_owned() selected=value == current>
            {label.to_owned()}
        </option>
    }
}

/// The new-schedule form, or the edit form of `editing` with its delete form.
fn schedule_form(
    data: &schedules::ResponseData,
    editing: Option<Schedule>,
    fields: &Fields,
    error: Option<FormError>,
    previewed: Option<Result<Vec<String>, FormError>>,
    actions: Actions,
) -> impl IntoView + use<> {
    let (preview_list, preview_error) = match previewed {
        Some(Ok(runs)) => (Some(runs), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    let error = error.or(preview_error);
    let zone = Some(fields.timezone.trim().to_owned())
        .filter(|z| !z.is_empty())
        .unwrap_or_else(|| "UTC".into());
    let inputs = form_fields(data, editing.as_ref(), fields, error.clone());
    let (title, form) = match &editing {
        Some(s) => (
            format!(
                "Edit schedule: {}",
                device_name(data, &s.user_id, &s.device_id)
            ),
            {
                let id = s.id.clone();
                view! {
                <ActionForm action=actions.update attr:id="schedule-form">
                    <input type="hidden" name="edit" value=id />
                    {inputs}
                </ActionForm>
                }
                .into_any()
            },
        ),
        None => (
            "New schedule".to_owned(),
            view! {
                <ActionForm action=actions.create attr:id="schedule-form">
                    {inputs}
                </ActionForm>
            }
            .into_any(),
        ),
    };
    let delete = editing.map(|s| {
        let error = error.clone();
        view! {
            <ActionForm action=actions.delete attr:id="delete-schedule">
                <input type="hidden" name="id" value=s.id.clone() />
                <div class="row">
                    <input type="checkbox" name="confirm" id="confirm" value="yes" />
                    <label for="confirm">"Yes, delete this schedule"</label>
                    <button type="submit" class="danger" id="delete-button">
                        "Delete schedule"
                    </button>
                    <a href="/schedules" id="cancel-edit">"Cancel"</a>
                </div>
                <FieldError error=error field="confirm" />
            </ActionForm>
        }
    });
    view! {
        <section class="panel" aria-labelledby="schedule-form-title">
            <h2 id="schedule-form-title">{title}</h2>
            {form}
            {delete}
            {preview_list
                .map(|runs| {
                    view! {
                        <div aria-live="polite">
                            <h3>"Next runs"</h3>
                            <ul class="preview" id="preview">
                                {runs.iter().map(|r| view! { <li>{zoned(r, &zone)}</li> }).collect_view()}
                            </ul>
                        </div>
                    }
                })}
        </section>
    }
}

/// The inputs of the schedule form, showing `fields`.
fn form_fields(
    data: &schedules::ResponseData,
    editing: Option<&Schedule>,
    fields: &Fields,
    error: Option<FormError>,
) -> impl IntoView + use<> {
    let devices: Vec<(String, String)> = data
        .all_devices
        .iter()
        .map(|d| {
            (
                format!("{}:{}", d.user_id, d.device_id),
                device_name(data, &d.user_id, &d.device_id),
            )
        })
        .collect();
    let f = fields.clone();
    let field_error = error.clone();
    let text = move |name: &'static str, label: &'static str, value: String, hint: &'static str| {
        let error = field_error.clone();
        view! {
            <div class="field">
                <label for=name>{label}</label>
                <input id=name name=name value=value aria-describedby=format!("{name}-hint") />
                <span class="hint" id=format!("{name}-hint")>{hint}</span>
                <FieldError error=error.clone() field=name />
            </div>
        }
    };
    let device = match editing {
        Some(s) => view! {
            <div class="field">
                <span class="label">"Device"</span>
                <span class="value" id="device-name">
                    {device_name(data, &s.user_id, &s.device_id)}
                </span>
            </div>
        }
        .into_any(),
        None => view! {
            <div class="field">
                <label for="device">"Device"</label>
                <select id="device" name="device" required>
                    {devices
                        .iter()
                        .map(|(value, label)| option(value, label, &f.device))
                        .collect_view()}
                </select>
                <FieldError error=error.clone() field="device" />
            </div>
        }
        .into_any(),
    };
    let submit = if editing.is_some() {
        view! { <button type="submit" id="save-button">"Save schedule"</button> }.into_any()
    } else {
        view! { <button type="submit" id="create-button">"Create schedule"</button> }.into_any()
    };
    let kind = if f.schedule_type.is_empty() {
        "daily".to_owned()
    } else {
        f.schedule_type.clone()
    };
    let conflicts = if f.resolve_conflicts.is_empty() {
        "keep_newest".to_owned()
    } else {
        f.resolve_conflicts.clone()
    };
    view! {
        <div class="stack-form">
            <div class="row">
                {device}
                <div class="field">
                    <label for="schedule_type">"Runs"</label>
                    <select id="schedule_type" name="schedule_type">
                        {option("daily", "Daily", &kind)}
                        {option("weekly", "Weekly", &kind)}
                        {option("monthly", "Monthly", &kind)}
                        {option("on_change", "On change", &kind)}
                    </select>
                    <FieldError error=error.clone() field="schedule_type" />
                </div>
            </div>
            <div class="row">
                {text("time_of_day", "Time of day", f.time_of_day.clone(), "HH:MM, e.g. 02:00")}
                <div class="field">
                    <label for="day_of_week">"Day of week"</label>
                    <select id="day_of_week" name="day_of_week" aria-describedby="day_of_week-hint">
                        {option("", "—", &f.day_of_week)}
                        {WEEKDAYS
                            .iter()
                            .enumerate()
                            .map(|(n, name)| option(&n.to_string(), name, &f.day_of_week))
                            .collect_view()}
                    </select>
                    <span class="hint" id="day_of_week-hint">"weekly schedules"</span>
                    <FieldError error=error.clone() field="day_of_week" />
                </div>
                {text("day_of_month", "Day of month", f.day_of_month.clone(), "monthly: 1–31 (short months: last day)")}
                {text("timezone", "Time zone", f.timezone.clone(), "IANA name, e.g. Europe/Berlin (default UTC)")}
            </div>
            <div class="row">
                <div class="field">
                    <label for="resolve_conflicts">"Conflicts"</label>
                    <select id="resolve_conflicts" name="resolve_conflicts" aria-describedby="resolve_conflicts-hint">
                        {option("keep_newest", "Keep the newest copy", &conflicts)}
                        {option("keep_local", "Keep the device's copy", &conflicts)}
                        {option("keep_server", "Keep the server's copy", &conflicts)}
                    </select>
                    <span class="hint" id="resolve_conflicts-hint">"when both sides changed a file"</span>
                    <FieldError error=error.clone() field="resolve_conflicts" />
                </div>
                {text("debounce_seconds", "Debounce (seconds)", f.debounce_seconds.clone(), "on change: quiet time before a run (default 30)")}
                <div class="field">
                    <span class="label">"Deletions"</span>
                    <label class="check">
                        <input
                            type="checkbox"
                            id="sync_deletions"
                            name="sync_deletions"
                            value="on"
                            checked=f.sync_deletions
                        />
                        "Sync deletions"
                    </label>
                    <span class="hint">"a file deleted on one side is deleted on the other"</span>
                    <FieldError error=error.clone() field="sync_deletions" />
                </div>
            </div>
            <div class="row">
                <button
                    type="submit"
                    class="secondary"
                    id="preview-button"
                    formaction="/schedules"
                    formmethod="get"
                >
                    "Preview next runs"
                </button>
                {submit}
            </div>
        </div>
    }
}

fn schedule_table(data: &schedules::ResponseData, actions: Actions) -> impl IntoView + use<> {
    let rows = data
        .schedules
        .iter()
        .map(|s| {
            let kind = wire(&s.schedule_type).replace('_', " ");
            let at = match (&s.time_of_day, s.day_of_week, s.day_of_month) {
                (Some(t), Some(d), _) => format!("{t}, {} ({})", weekday(d), s.timezone),
                (Some(t), _, Some(d)) => format!("{t}, day {d} ({})", s.timezone),
                (Some(t), _, _) => format!("{t} ({})", s.timezone),
                _ => format!("{} s after the last change", s.debounce_seconds),
            };
            let how = format!(
                "{}; conflicts keep {}",
                if s.sync_deletions {
                    "deletions sync"
                } else {
                    "deletions stay"
                },
                conflicts_label(&wire(&s.resolve_conflicts)),
            );
            let id = s.id.clone();
            let (toggle_id, run_id, history, edit) = (
                id.clone(),
                id.clone(),
                format!("/schedules?history={id}"),
                format!("/schedules?edit={id}"),
            );
            let toggle = if s.enabled {
                view! {
                    <ActionForm action=actions.disable>
                        <input type="hidden" name="id" value=toggle_id />
                        <button type="submit" class="secondary" data-action="disable">
                            "Disable"
                        </button>
                    </ActionForm>
                }
                .into_any()
            } else {
                view! {
                    <ActionForm action=actions.enable>
                        <input type="hidden" name="id" value=toggle_id />
                        <button type="submit" class="secondary" data-action="enable">
                            "Enable"
                        </button>
                    </ActionForm>
                }
                .into_any()
            };
            let zone = s.timezone.clone();
            view! {
                <tr data-schedule-id=id>
                    <td data-label="Device">{device_name(data, &s.user_id, &s.device_id)}</td>
                    <td data-label="Runs">{kind}</td>
                    <td data-label="When" class="when">{at}</td>
                    <td data-label="Sync" class="how">{how}</td>
                    <td data-label="State" class="state">
                        {if s.enabled {
                            view! { <span class="badge ok">"enabled"</span> }
                        } else {
                            view! { <span class="badge off">"disabled"</span> }
                        }}
                    </td>
                    <td data-label="Next run" class="next">
                        {match s.next_run_at.as_deref() {
                            Some(at) => zoned(at, &zone).into_any(),
                            None => "—".into_any(),
                        }}
                    </td>
                    <td data-label="Last run">
                        {s.last_run_at.as_deref().map(when).unwrap_or_else(|| "never".into())}
                    </td>
                    <td data-label="Actions">
                        <div class="row">
                            <a href=edit data-action="edit">"Edit"</a>
                            {toggle}
                            <ActionForm action=actions.run_now>
                                <input type="hidden" name="id" value=run_id />
                                <button type="submit" class="secondary" data-action="run">
                                    "Run now"
                                </button>
                            </ActionForm>
                            <a href=history>"History"</a>
                        </div>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="panel" aria-labelledby="all-schedules">
            <h2 id="all-schedules">"All schedules"</h2>
            <div class="table-wrap">
                <table id="schedules" class="cards">
                    <thead>
                        <tr>
                            <th scope="col">"Device"</th>
                            <th scope="col">"Runs"</th>
                            <th scope="col">"When"</th>
                            <th scope="col">"Sync"</th>
                            <th scope="col">"State"</th>
                            <th scope="col">"Next run"</th>
                            <th scope="col">"Last run"</th>
                            <th scope="col">"Actions"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
}

async fn history_panel(api: &Api, data: &schedules::ResponseData, id: String) -> AnyView {
    let Some(schedule) = data.schedules.iter().find(|s| s.id == id) else {
        return load_error("no such schedule");
    };
    let title = format!(
        "History: {}",
        device_name(data, &schedule.user_id, &schedule.device_id)
    );
    let runs = match api
        .run::<ScheduleHistory>(schedule_history::Variables { schedule_id: id })
        .await
    {
        Ok(answer) => answer.schedule_runs.nodes,
        Err(e) => return load_error(e),
    };
    view! {
        <section class="panel" aria-labelledby="history-title" id="history">
            <h2 id="history-title">{title}</h2>
            {if runs.is_empty() {
                view! { <p class="muted">"No run yet."</p> }.into_any()
            } else {
                view! {
                    <table>
                        <thead>
                            <tr>
                                <th scope="col">"Started"</th>
                                <th scope="col">"Trigger"</th>
                                <th scope="col">"Status"</th>
                                <th scope="col" class="num">"Changes"</th>
                                <th scope="col">"Error"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {runs
                                .into_iter()
                                .map(|r| {
                                    view! {
                                        <tr>
                                            <td>{when(&r.started_at)}</td>
                                            <td>{format!("{:?}", r.trigger).to_lowercase()}</td>
                                            <td>{format!("{:?}", r.status).to_lowercase()}</td>
                                            <td class="num">{r.change_count}</td>
                                            <td>{r.error.unwrap_or_default()}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                    .into_any()
            }}
        </section>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    #[test]
    fn run_times_show_the_zone_and_utc() {
        let (local, utc) = super::in_zone("2026-12-08T01:00:00+00:00", "Europe/Berlin");
        assert_eq!(local, "Tue 2026-12-08 02:00 Europe/Berlin");
        assert_eq!(utc, "01:00 UTC");
        let (local, utc) = super::in_zone("2026-12-08T23:30:00Z", "Asia/Tokyo");
        assert_eq!(local, "Wed 2026-12-09 08:30 Asia/Tokyo");
        assert_eq!(utc, "2026-12-08 23:30 UTC");
    }

    #[test]
    fn form_values_become_the_api_enums() {
        use super::{CHOOSE_CONFLICTS, CHOOSE_KIND, choice};
        use crate::operations::create_schedule::{ResolveConflicts, ScheduleType};
        let kind: ScheduleType = choice("t", "on_change", CHOOSE_KIND).expect("kind");
        assert!(matches!(kind, ScheduleType::ON_CHANGE));
        let keep: ResolveConflicts = choice("c", "keep_local", CHOOSE_CONFLICTS).expect("keep");
        assert!(matches!(keep, ResolveConflicts::KEEP_LOCAL));
        assert!(choice::<ScheduleType>("t", "hourly", CHOOSE_KIND).is_err());
        assert!(choice::<ScheduleType>("t", "", CHOOSE_KIND).is_err());
    }

    #[test]
    fn weekdays_are_named_from_monday() {
        assert_eq!(super::weekday(0), "Monday");
        assert_eq!(super::weekday(6), "Sunday");
        assert_eq!(super::weekday(9), "weekday 9");
        assert_eq!(super::weekday(-1), "weekday -1");
    }
}
