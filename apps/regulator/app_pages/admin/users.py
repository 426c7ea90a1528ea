"""Regulator app · 用户与角色 / Users & roles: the user table with export, role editing, lock/unlock and
deactivation behind a confirmation, and a form to create a user (operators and regulator admins).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from apps.common.actor import current_actor
from apps.common.i18n import current_locale, join, t
from apps.common.widgets import data_table, show_error
from core.auth import Permission, Role
from core.auth.rules import roles_for_kind
from core.errors import JinfuError, ValidationErrors
from core.i18n import LOCALE_LABELS, SUPPORTED_LOCALES
from core.models.types import OrgKind
from core.services import admin, identity

PREFIX = "reg_admin_users_"
FLASH = PREFIX + "flash"
PENDING = PREFIX + "pending"
EDITABLE_ROWS = 500  # the edit picker offers at most this many users of the filtered table
LOCK_CHOICES = {60: "1h", 24 * 60: "1d", 7 * 24 * 60: "7d", 30 * 24 * 60: "30d", 366 * 24 * 60: "366d"}
STATES = ("all", "active", "inactive", "locked")
FIELD_KEYS = {
    "subject": "reg.admin.field.subject",
    "display_name": "reg.admin.field.display_name",
    "email": "reg.admin.field.email",
    "phone": "reg.admin.field.phone",
    "roles": "reg.admin.field.roles",
    "password": "reg.admin.field.password",
    "locale": "reg.admin.field.locale",
    "organization_id": "reg.admin.field.organization",
    "minutes": "reg.admin.field.lock_for",
}

st.title(t("reg.admin.users.title"))
actor = current_actor()
if actor is None or not actor.can(Permission.admin_users):
    st.info(t("reg.admin.forbidden"))
    st.stop()

locale = current_locale()
en = locale == "en"


def role_names(roles) -> str:
    return join(t(f"role.{r}") for r in roles)


def org_label(row) -> str:
    name = row["name_en"] if en and row.get("name_en") else row["name"]
    kind = t(f"org_kind.{row['kind']}")
    return f"{name} · {kind}"


def show_failure(exc: JinfuError) -> None:
    """A refused call: every field error of a form next to its field's name, else the one message."""
    if isinstance(exc, ValidationErrors):
        for error in exc.errors:
            label = t(FIELD_KEYS.get(error.field or "", "reg.admin.field.form"))
            st.error(t("common.field", label=label, value=error.message(locale)), icon=":material/error:")
    elif exc.field in FIELD_KEYS:
        st.error(t("common.field", label=t(FIELD_KEYS[exc.field]), value=exc.message(locale)))
    else:
        show_error(exc)


def done(message_key: str, **params) -> None:
    """Remember a success message for the next run and rerun (the table shows the change)."""
    st.session_state[FLASH] = t(message_key, **params)
    st.session_state.pop(PENDING, None)
    st.rerun()


st.caption(t("reg.admin.users.caption"))
if flash := st.session_state.pop(FLASH, None):
    st.success(flash, icon=":material/check_circle:")

# ---------------------------------------------------------------------------------------- filters
orgs = admin.list_organizations(actor=actor)
org_rows = {int(r["id"]): r for r in orgs.to_dict("records")}
filter_org, filter_role, filter_state = st.columns(3)
with filter_org:
    org_filter = st.selectbox(
        t("reg.admin.users.filter_org"),
        options=[None, *org_rows],
        format_func=lambda oid: t("reg.admin.users.all_orgs") if oid is None else org_label(org_rows[oid]),
        key=PREFIX + "org",
    )
with filter_role:
    role_filter = st.selectbox(
        t("reg.admin.users.filter_role"),
        options=[None, *[r.value for r in Role if r != Role.system]],
        format_func=lambda r: t("reg.admin.users.all_roles") if r is None else t(f"role.{r}"),
        key=PREFIX + "role",
    )
with filter_state:
    state = st.selectbox(
        t("reg.admin.users.filter_state"),
        options=list(STATES),
        format_func=lambda s: t(f"reg.admin.users.state.{s}"),
        key=PREFIX + "state",
    )
search = st.text_input(t("reg.admin.users.search"), key=PREFIX + "search", max_chars=60).strip()

with st.spinner(t("common.loading")):
    users = admin.list_users(
        actor=actor,
        organization_id=org_filter,
        role=role_filter,
        active={"active": True, "inactive": False}.get(state),
        locked=True if state == "locked" else None,
        search=search or None,
    )


def local_time(series: pd.Series) -> pd.Series:
    return series.dt.tz_convert("Asia/Shanghai")


table = pd.DataFrame(
    {
        t("reg.admin.col.id"): users["id"],
        t("reg.admin.col.subject"): users["subject"],
        t("reg.admin.col.display_name"): users["display_name"],
        t("reg.admin.col.organization"): users["organization_name"],
        t("reg.admin.col.roles"): users["roles"].map(role_names),
        t("reg.admin.col.active"): users["is_active"],
        t("reg.admin.col.locked"): users["locked"],
        t("reg.admin.col.locked_until"): local_time(users["locked_until"]),
        t("reg.admin.col.failed_attempts"): users["failed_attempts"],
        t("reg.admin.col.totp"): users["totp_enrolled"],
        t("reg.admin.col.last_sign_in"): local_time(users["last_sign_in_at"]),
        t("reg.admin.col.email"): users["email"],
    }
)
data_table(
    table,
    filename="users",
    key=PREFIX + "table",
    column_config={
        t("reg.admin.col.active"): st.column_config.CheckboxColumn(),
        t("reg.admin.col.locked"): st.column_config.CheckboxColumn(),
        t("reg.admin.col.totp"): st.column_config.CheckboxColumn(),
        t("reg.admin.col.locked_until"): st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        t("reg.admin.col.last_sign_in"): st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
    },
)

# ------------------------------------------------------------------------------------ edit a user
st.subheader(t("reg.admin.users.edit"))
if users.empty:
    st.info(t("reg.admin.users.none"))
else:
    rows = {int(r["id"]): r for r in users.head(EDITABLE_ROWS).to_dict("records")}
    chosen = st.selectbox(
        t("reg.admin.users.pick"),
        options=list(rows),
        format_func=lambda uid: (
            f"{rows[uid]['display_name']} · {rows[uid]['subject']} · {rows[uid]['organization_name']}"
        ),
        key=PREFIX + "pick",
    )
    user = rows[chosen]
    status = [t("reg.admin.users.state.active" if user["is_active"] else "reg.admin.users.state.inactive")]
    if user["locked"]:
        until = pd.Timestamp(user["locked_until"]).tz_convert("Asia/Shanghai").strftime("%Y-%m-%d %H:%M")
        status.append(t("reg.admin.users.locked_until", time=until))
    st.markdown(
        "  \n".join(
            [
                t("common.field", label=t("reg.admin.col.organization"), value=user["organization_name"]),
                t(
                    "common.field",
                    label=t("reg.admin.col.kind"),
                    value=t(f"org_kind.{user['organization_kind']}"),
                ),
                t("common.field", label=t("reg.admin.col.roles"), value=role_names(user["roles"])),
                t("common.field", label=t("reg.admin.col.status"), value=join(status)),
            ]
        )
    )

    # Roles: the form carries the roles it showed, so a concurrent edit is refused, not overwritten.
    allowed = [r.value for r in roles_for_kind(user["organization_kind"])]
    with st.form(PREFIX + f"roles_form_{chosen}", border=True):
        new_roles = st.multiselect(
            t("reg.admin.field.roles"),
            options=allowed,
            default=[r for r in user["roles"] if r in allowed],
            format_func=lambda r: t(f"role.{r}"),
            key=PREFIX + f"roles_{chosen}",
            help=t("reg.admin.users.roles_help", kind=t(f"org_kind.{user['organization_kind']}")),
        )
        if st.form_submit_button(t("reg.admin.users.save_roles"), icon=":material/save:"):
            try:
                admin.change_user_roles(
                    actor=actor, user_id=chosen, roles=new_roles, expected_roles=list(user["roles"])
                )
            except JinfuError as exc:
                show_failure(exc)
            else:
                done("reg.admin.users.roles_saved", name=user["display_name"])

    # Account actions: each asks for a confirmation first.
    lock_for = st.selectbox(
        t("reg.admin.field.lock_for"),
        options=list(LOCK_CHOICES),
        index=1,
        format_func=lambda m: t(f"reg.admin.users.lock_for.{LOCK_CHOICES[m]}"),
        key=PREFIX + "lock_for",
    )
    with st.container(horizontal=True, gap="small"):
        if user["locked"]:
            if st.button(t("reg.admin.users.unlock"), icon=":material/lock_open:", key=PREFIX + "unlock"):
                st.session_state[PENDING] = ("unlock", chosen, None)
        elif st.button(t("reg.admin.users.lock"), icon=":material/lock:", key=PREFIX + "lock"):
            st.session_state[PENDING] = ("lock", chosen, lock_for)
        if user["is_active"]:
            if st.button(
                t("reg.admin.users.deactivate"), icon=":material/person_off:", key=PREFIX + "deactivate"
            ):
                st.session_state[PENDING] = ("deactivate", chosen, None)
        elif st.button(
            t("reg.admin.users.reactivate"), icon=":material/person_check:", key=PREFIX + "reactivate"
        ):
            st.session_state[PENDING] = ("reactivate", chosen, None)

    pending = st.session_state.get(PENDING)
    if pending and pending[1] == chosen:
        action, user_id, param = pending
        with st.container(border=True):
            st.warning(
                t(f"reg.admin.users.confirm.{action}", name=user["display_name"], subject=user["subject"]),
                icon=":material/warning:",
            )
            with st.container(horizontal=True, gap="small"):
                confirmed = st.button(t("reg.admin.users.confirm"), type="primary", key=PREFIX + "confirm")
                cancelled = st.button(t("reg.admin.users.cancel"), key=PREFIX + "cancel")
        if cancelled:
            st.session_state.pop(PENDING, None)
            st.rerun()
        if confirmed:
            try:
                if action == "lock":
                    admin.lock_user(actor=actor, user_id=user_id, minutes=int(param))
                elif action == "unlock":
                    identity.unlock_account(actor=actor, user_id=user_id)
                elif action == "deactivate":
                    admin.deactivate_user(actor=actor, user_id=user_id)
                else:
                    admin.reactivate_user(actor=actor, user_id=user_id)
            except JinfuError as exc:
                st.session_state.pop(PENDING, None)
                show_failure(exc)
            else:
                done(f"reg.admin.users.done.{action}", name=user["display_name"])

# ---------------------------------------------------------------------------------- create a user
st.subheader(t("reg.admin.users.create"))
org_search = st.text_input(
    t("reg.admin.users.org_search"),
    key=PREFIX + "new_org_search",
    max_chars=60,
    help=t("reg.admin.users.org_search_help"),
).strip()
candidates = admin.list_organizations(
    actor=actor,
    kinds=[k.value for k in OrgKind] if org_search else None,
    search=org_search or None,
    limit=200,
)
candidates = candidates[candidates["is_active"]]
choices = {int(r["id"]): r for r in candidates.to_dict("records")}
if not choices:
    st.info(t("reg.admin.orgs.none"))
    st.stop()
new_org = st.selectbox(
    t("reg.admin.field.organization"),
    options=list(choices),
    format_func=lambda oid: org_label(choices[oid]),
    key=PREFIX + "new_org",
)
kind = choices[new_org]["kind"]
FORM_FIELDS = ("subject", "display_name", "email", "phone", "locale", "password")
with st.form(PREFIX + "create_form", border=True):
    subject = st.text_input(
        t("reg.admin.field.subject"),
        key=PREFIX + "new_subject",
        max_chars=64,
        help=t("reg.admin.users.subject_help"),
    )
    display_name = st.text_input(
        t("reg.admin.field.display_name"), key=PREFIX + "new_display_name", max_chars=80
    )
    email = st.text_input(t("reg.admin.field.email"), key=PREFIX + "new_email", max_chars=200)
    phone = st.text_input(t("reg.admin.field.phone"), key=PREFIX + "new_phone", max_chars=30)
    new_locale = st.selectbox(
        t("reg.admin.field.locale"),
        options=list(SUPPORTED_LOCALES),
        format_func=lambda loc: LOCALE_LABELS.get(loc, loc),
        key=PREFIX + "new_locale",
    )
    roles = st.multiselect(
        t("reg.admin.field.roles"),
        options=[r.value for r in roles_for_kind(kind)],
        format_func=lambda r: t(f"role.{r}"),
        key=PREFIX + f"new_roles_{kind}",
        help=t("reg.admin.users.roles_help", kind=t(f"org_kind.{kind}")),
    )
    password = st.text_input(
        t("reg.admin.field.password"),
        type="password",
        key=PREFIX + "new_password",
        max_chars=128,
        help=t("reg.admin.users.password_help"),
    )
    submitted = st.form_submit_button(t("reg.admin.users.create_submit"), icon=":material/person_add:")
if submitted:
    try:
        created = admin.create_user(
            actor=actor,
            organization_id=new_org,
            subject=subject,
            display_name=display_name,
            roles=roles,
            email=email or None,
            phone=phone or None,
            locale=new_locale,
            password=password or None,
        )
    except JinfuError as exc:
        show_failure(exc)
    else:
        for name in FORM_FIELDS:
            st.session_state.pop(PREFIX + f"new_{name}", None)
        st.session_state.pop(PREFIX + f"new_roles_{kind}", None)
        done("reg.admin.users.created", name=created.display_name, subject=created.subject)
