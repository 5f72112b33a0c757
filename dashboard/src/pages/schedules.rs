//! Schedules: create (with a preview of the next runs), enable/disable, run now, history.
//! The create form's "Preview" button sends the same fields to this page by GET, so the
//! preview needs no JavaScript; "Create" posts them to the server function.
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    app::{Layout, load_error},
    client::Api,
    form::{FieldError, FormError, FormNotice, error_of, optional_number},
    operations::{
        CreateSchedule, DisableSchedule, EnableSchedule, RunScheduleNow, ScheduleHistory,
        SchedulePreview, Schedules, create_schedule, disable_schedule, enable_schedule,
        run_schedule_now, schedule_history, schedule_preview, schedules,
    },
    pages::when,
};

/// The form's fields, as posted or as given in the query.
#[derive(Clone, Debug, Default)]
struct Fields {
    device: String,
    schedule_type: String,
    time_of_day: String,
    day_of_week: String,
    day_of_month: String,
    timezone: String,
}

fn kind(raw: &str) -> Result<&'static str, FormError> {
    match raw {
        "daily" => Ok("DAILY"),
        "weekly" => Ok("WEEKLY"),
        "monthly" => Ok("MONTHLY"),
        "on_change" => Ok("ON_CHANGE"),
        _ => Err(FormError::field(
            "schedule_type",
            "Choose how often it runs.",
        )),
    }
}

fn create_kind(raw: &str) -> Result<create_schedule::ScheduleType, FormError> {
    Ok(match kind(raw)? {
        "DAILY" => create_schedule::ScheduleType::DAILY,
        "WEEKLY" => create_schedule::ScheduleType::WEEKLY,
        "MONTHLY" => create_schedule::ScheduleType::MONTHLY,
        _ => create_schedule::ScheduleType::ON_CHANGE,
    })
}

fn preview_kind(raw: &str) -> Result<schedule_preview::ScheduleType, FormError> {
    Ok(match kind(raw)? {
        "DAILY" => schedule_preview::ScheduleType::DAILY,
        "WEEKLY" => schedule_preview::ScheduleType::WEEKLY,
        "MONTHLY" => schedule_preview::ScheduleType::MONTHLY,
        _ => schedule_preview::ScheduleType::ON_CHANGE,
    })
}

fn some(raw: &str) -> Option<String> {
    Some(raw.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Create a schedule for a device (`USER_ID:DEVICE_ID`), then show it with its next runs.
#[server(name = CreateScheduleFn, prefix = "/dashboard/fn", endpoint = "schedule/create")]
pub async fn create_schedule(
    device: String,
    schedule_type: String,
    time_of_day: String,
    day_of_week: String,
    day_of_month: String,
    timezone: String,
) -> Result<(), FormError> {
    let api = Api::here();
    let (user_id, device_id) = device
        .split_once(':')
        .ok_or_else(|| FormError::field("device", "Choose a device."))?;
    let input = create_schedule::CreateScheduleInput {
        device_id: device_id.to_owned(),
        user_id: Some(user_id.to_owned()),
        schedule_type: create_kind(&schedule_type)?,
        time_of_day: some(&time_of_day),
        day_of_week: optional_number("day_of_week", &day_of_week)?,
        day_of_month: optional_number("day_of_month", &day_of_month)?,
        timezone: some(&timezone),
        sync_deletions: false,
        resolve_conflicts: None,
        debounce_seconds: None,
    };
    let created = api
        .run::<CreateSchedule>(create_schedule::Variables { input })
        .await?;
    leptos_axum::redirect(&format!(
        "/schedules?created={}",
        created.create_schedule.id
    ));
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

/// The next five runs of `fields` after now, or why there are none.
async fn preview(api: &Api, fields: &Fields) -> Result<Vec<String>, FormError> {
    let input = schedule_preview::SchedulePreviewInput {
        schedule_type: preview_kind(&fields.schedule_type)?,
        time_of_day: fields.time_of_day.trim().to_owned(),
        day_of_week: optional_number("day_of_week", &fields.day_of_week)?,
        day_of_month: optional_number("day_of_month", &fields.day_of_month)?,
        timezone: some(&fields.timezone),
    };
    let after = chrono::Utc::now().to_rfc3339();
    Ok(api
        .run::<SchedulePreview>(schedule_preview::Variables { input, after })
        .await?
        .schedule_preview)
}

#[component]
pub fn SchedulesPage() -> impl IntoView {
    let api = Api::here();
    let query = use_query_map().get_untracked();
    let get = |key: &str| query.get(key).unwrap_or_default();
    let fields = Fields {
        device: get("device"),
        schedule_type: get("schedule_type"),
        time_of_day: get("time_of_day"),
        day_of_week: get("day_of_week"),
        day_of_month: get("day_of_month"),
        timezone: get("timezone"),
    };
    let created = query.get("created");
    let history = query.get("history");
    let create = ServerAction::<CreateScheduleFn>::new();
    let enable = ServerAction::<EnableScheduleFn>::new();
    let disable = ServerAction::<DisableScheduleFn>::new();
    let run_now = ServerAction::<RunScheduleNowFn>::new();
    let post_error = error_of(create)
        .or_else(|| error_of(enable))
        .or_else(|| error_of(disable))
        .or_else(|| error_of(run_now));
    view! {
        <Layout title="Schedules" current="/schedules">
            <Suspense fallback=|| "Loading…">
                {move || {
                    let (api, fields, created, history, post_error) = (
                        api.clone(),
                        fields.clone(),
                        created.clone(),
                        history.clone(),
                        post_error.clone(),
                    );
                    Suspend::new(async move {
                        let data = match api.run::<Schedules>(schedules::Variables).await {
                            Ok(data) => data,
                            Err(e) => return load_error(e),
                        };
                        let previewed = if fields.schedule_type.is_empty() {
                            None
                        } else {
                            Some(preview(&api, &fields).await)
                        };
                        let created_view = match created
                            .and_then(|id| data.schedules.iter().find(|s| s.id == id).cloned())
                        {
                            Some(s) => Some(created_notice(&api, s).await),
                            None => None,
                        };
                        let history_view = match history {
                            Some(id) => Some(history_panel(&api, &data, id).await),
                            None => None,
                        };
                        view! {
                            {created_view}
                            <FormNotice error=post_error.clone() />
                            {create_form(&data, &fields, post_error, previewed, create)}
                            {schedule_table(&data, enable, disable, run_now)}
                            {history_view}
                        }
                            .into_any()
                    })
                }}
            </Suspense>
        </Layout>
    }
}

fn device_name(data: &schedules::ResponseData, user_id: &str, device_id: &str) -> String {
    let user = data
        .users
        .iter()
        .find(|u| u.id == user_id)
        .map_or(user_id, |u| u.username.as_str());
    format!("{user} / {device_id}")
}

async fn created_notice(api: &Api, s: schedules::SchedulesSchedules) -> AnyView {
    let fields = Fields {
        schedule_type: format!("{:?}", s.schedule_type).to_lowercase(),
        time_of_day: s.time_of_day.clone().unwrap_or_default(),
        day_of_week: s.day_of_week.map(|d| d.to_string()).unwrap_or_default(),
        day_of_month: s.day_of_month.map(|d| d.to_string()).unwrap_or_default(),
        timezone: s.timezone.clone(),
        ..Default::default()
    };
    let runs = preview(api, &fields).await.unwrap_or_default();
    view! {
        <div class="notice ok" role="status" id="created">
            <strong>"Schedule created."</strong>
            {(!runs.is_empty())
                .then(|| {
                    view! {
                        " Its next runs:"
                        <ul class="preview">
                            {runs.iter().map(|r| view! { <li>{when(r)}</li> }).collect_view()}
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

fn option(value: &str, label: &str, current: &str) -> impl IntoView + use<> {
    view! {
        <option value=value.to_owned() selected=value == current>
            {label.to_owned()}
        </option>
    }
}

fn create_form(
    data: &schedules::ResponseData,
    fields: &Fields,
    error: Option<FormError>,
    previewed: Option<Result<Vec<String>, FormError>>,
    action: ServerAction<CreateScheduleFn>,
) -> impl IntoView + use<> {
    let (preview_list, preview_error) = match previewed {
        Some(Ok(runs)) => (Some(runs), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    let error = error.or(preview_error);
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
    view! {
        <section class="panel" aria-labelledby="new-schedule">
            <h2 id="new-schedule">"New schedule"</h2>
            <ActionForm action=action>
                <div class="stack-form">
                    <div class="row">
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
                        <div class="field">
                            <label for="schedule_type">"Runs"</label>
                            <select id="schedule_type" name="schedule_type">
                                {option("daily", "Daily", &f.schedule_type)}
                                {option("weekly", "Weekly", &f.schedule_type)}
                                {option("monthly", "Monthly", &f.schedule_type)}
                                {option("on_change", "On change", &f.schedule_type)}
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
                        <button
                            type="submit"
                            class="secondary"
                            id="preview-button"
                            formaction="/schedules"
                            formmethod="get"
                        >
                            "Preview next runs"
                        </button>
                        <button type="submit" id="create-button">
                            "Create schedule"
                        </button>
                    </div>
                </div>
            </ActionForm>
            {preview_list
                .map(|runs| {
                    view! {
                        <div aria-live="polite">
                            <h3>"Next runs"</h3>
                            <ul class="preview" id="preview">
                                {runs.iter().map(|r| view! { <li>{when(r)}</li> }).collect_view()}
                            </ul>
                        </div>
                    }
                })}
        </section>
    }
}

fn schedule_table(
    data: &schedules::ResponseData,
    enable: ServerAction<EnableScheduleFn>,
    disable: ServerAction<DisableScheduleFn>,
    run_now: ServerAction<RunScheduleNowFn>,
) -> impl IntoView + use<> {
    let rows = data
        .schedules
        .iter()
        .map(|s| {
            let kind = format!("{:?}", s.schedule_type).to_lowercase();
            let at = match (&s.time_of_day, s.day_of_week, s.day_of_month) {
                (Some(t), Some(d), _) => format!("{t}, {}", weekday(d)),
                (Some(t), _, Some(d)) => format!("{t}, day {d}"),
                (Some(t), _, _) => t.clone(),
                _ => "after changes".into(),
            };
            let id = s.id.clone();
            let (toggle_id, run_id, history) =
                (id.clone(), id.clone(), format!("/schedules?history={id}"));
            let toggle = if s.enabled {
                view! {
                    <ActionForm action=disable>
                        <input type="hidden" name="id" value=toggle_id />
                        <button type="submit" class="secondary" data-action="disable">
                            "Disable"
                        </button>
                    </ActionForm>
                }
                .into_any()
            } else {
                view! {
                    <ActionForm action=enable>
                        <input type="hidden" name="id" value=toggle_id />
                        <button type="submit" class="secondary" data-action="enable">
                            "Enable"
                        </button>
                    </ActionForm>
                }
                .into_any()
            };
            view! {
                <tr data-schedule-id=id>
                    <td>{device_name(data, &s.user_id, &s.device_id)}</td>
                    <td>{kind}</td>
                    <td>{format!("{at} ({})", s.timezone)}</td>
                    <td class="state">
                        {if s.enabled {
                            view! { <span class="badge ok">"enabled"</span> }
                        } else {
                            view! { <span class="badge off">"disabled"</span> }
                        }}
                    </td>
                    <td>{s.next_run_at.as_deref().map(when).unwrap_or_else(|| "—".into())}</td>
                    <td>{s.last_run_at.as_deref().map(when).unwrap_or_else(|| "never".into())}</td>
                    <td>
                        <div class="row">
                            {toggle}
                            <ActionForm action=run_now>
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
                <table id="schedules">
                    <thead>
                        <tr>
                            <th scope="col">"Device"</th>
                            <th scope="col">"Runs"</th>
                            <th scope="col">"When"</th>
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
    fn weekdays_are_named_from_monday() {
        assert_eq!(super::weekday(0), "Monday");
        assert_eq!(super::weekday(6), "Sunday");
        assert_eq!(super::weekday(9), "weekday 9");
        assert_eq!(super::weekday(-1), "weekday -1");
    }
}
