"""Matrix rules for the services of issues 3 and 4: read side, directory, applications, identity,
administration and consent (products moved to ``market.py``)."""

from __future__ import annotations

import time

from core.auth import Permission, Role
from core.errors import ForbiddenError, NotFoundError
from tests.integration.permission_world import (
    PASSWORD,
    Builder,
    Rule,
    _address,
    _CapturingNotifier,
    _fresh_grant,
    _fresh_user,
    _signup,
    _target_user,
)

A = "core.services.analytics."
D = "core.services.directory."
AP = "core.services.applications."
ID = "core.services.identity."
AD = "core.services.admin."
C = "core.services.consent."
PUBLIC = Rule(Permission.identity_provider, "public_identity")
SELF = Rule(None, "any", note="reads only the caller's own account")

RULES: dict[str, Rule] = {
    # read side: platform-wide aggregates
    A + "platform_kpis": Rule(Permission.platform_stats, "any"),
    A + "monthly_trend": Rule(Permission.platform_stats, "any"),
    A + "district_breakdown": Rule(Permission.platform_stats, "any"),
    # directory
    D + "list_demo_enterprises": Rule(Permission.enterprise_list, "any"),
    D + "enterprise_profile": Rule(None, "own_enterprise"),
    D + "list_institutions": Rule(Permission.products_browse, "any"),
    D + "get_organization": Rule(None, "any", note="public directory entry"),
    # applications (institution side)
    AP + "applications_by_status": Rule(None, "own_institution_family"),
    AP + "list_applications": Rule(None, "own_institution_family"),
    # identity: the provider's own services (anonymous actor), then administration
    ID + "_authenticate": PUBLIC,
    ID + "_verify_totp": PUBLIC,
    ID + "enroll_totp": PUBLIC,
    ID + "identity_for_user": PUBLIC,
    ID + "_request_code": PUBLIC,
    ID + "_register_enterprise": PUBLIC,
    ID + "_reset_password": PUBLIC,
    ID + "sync_oauth_clients": PUBLIC,
    ID + "get_oauth_client": PUBLIC,
    ID + "active_user_id": SELF,
    ID + "save_authorization_code": PUBLIC,
    ID + "consume_authorization_code": PUBLIC,
    ID + "nonce_used": PUBLIC,
    ID + "save_access_token": PUBLIC,
    ID + "identity_for_access_token": PUBLIC,
    ID + "revoke_user_tokens": PUBLIC,
    ID + "set_password": Rule(Permission.admin_users, "any"),
    ID + "unlock_account": Rule(Permission.admin_users, "any"),
    ID + "ensure_demo_credentials": Rule(Permission.seed, "any"),
    # operator user administration
    AD + "list_organizations": Rule(Permission.admin_users, "any"),
    AD + "list_users": Rule(Permission.admin_users, "any"),
    AD + "create_user": Rule(Permission.admin_users, "any"),
    AD + "change_user_roles": Rule(Permission.admin_users, "any"),
    AD + "deactivate_user": Rule(Permission.admin_users, "any"),
    AD + "reactivate_user": Rule(Permission.admin_users, "any"),
    AD + "lock_user": Rule(Permission.admin_users, "any"),
    AD + "audit_log": Rule(Permission.admin_users, "any"),
    AD + "audit_chain_status": Rule(Permission.admin_users, "any"),
    # consent ledger
    C + "grant_consent": Rule(Permission.consent_manage, "own_enterprise_act"),
    C + "revoke_consent": Rule(
        Permission.consent_manage,
        "own_enterprise_act",
        refused=(ForbiddenError, NotFoundError),
        note="another enterprise's grant is reported as not found (its existence is not revealed)",
    ),
    C + "list_consents": Rule(None, "own_enterprise"),
    C + "data_access_log": Rule(None, "own_enterprise"),
}

ARGUMENTS: dict[str, Builder] = {
    A + "platform_kpis": lambda w, sc, r: {},
    A + "monthly_trend": lambda w, sc, r: {"months": 12},
    A + "district_breakdown": lambda w, sc, r: {},
    D + "list_demo_enterprises": lambda w, sc, r: {"limit": 10},
    D + "enterprise_profile": lambda w, sc, r: {"enterprise_id": w.side(sc).enterprise_id},
    D + "list_institutions": lambda w, sc, r: {},
    D + "get_organization": lambda w, sc, r: {"organization_id": w.side(sc).bank_id},
    AP + "applications_by_status": lambda w, sc, r: {"institution_id": w.institution(sc, r)},
    AP + "list_applications": lambda w, sc, r: {"institution_id": w.institution(sc, r)},
    ID + "_authenticate": lambda w, sc, r: {
        "identifier": w.side(sc).subjects[r],
        "password": PASSWORD,
        "client_address": _address(w),
    },
    ID + "_verify_totp": lambda w, sc, r: {
        "user_id": _target_user(w, sc, r),
        "code": "000000",
        "client_address": _address(w),
    },
    ID + "enroll_totp": lambda w, sc, r: {"user_id": _target_user(w, sc, r)},
    ID + "identity_for_user": lambda w, sc, r: {"user_id": _target_user(w, sc, r)},
    ID + "_request_code": lambda w, sc, r: {
        "purpose": "reset",
        "email": f"{w.side(sc).name}.{r.value}@matrix.example",
        "client_address": _address(w),
        "locale": "zh_CN",
        "signup": None,
        "notifier": _CapturingNotifier(),
    },
    ID + "_register_enterprise": lambda w, sc, r: _signup(w),
    ID + "_reset_password": lambda w, sc, r: {
        "email": f"{w.side(sc).name}.{r.value}@matrix.example",
        "code": "123456",
        "new_password": PASSWORD + "x",
    },
    ID + "sync_oauth_clients": lambda w, sc, r: {"registrations": []},
    ID + "get_oauth_client": lambda w, sc, r: {"client_id": "jinfu-matrix"},
    ID + "active_user_id": lambda w, sc, r: {},
    ID + "save_authorization_code": lambda w, sc, r: {
        "code": w.unique("code-"),
        "client_id": "jinfu-matrix",
        "user_id": _target_user(w, sc, r),
        "redirect_uri": "http://127.0.0.1:9/cb",
        "scope": "openid",
        "nonce": None,
        "code_challenge": None,
        "code_challenge_method": None,
        "auth_time": int(time.time()),
        "amr": ["pwd"],
    },
    ID + "consume_authorization_code": lambda w, sc, r: {"code": "no-such-code", "client_id": "jinfu-matrix"},
    ID + "nonce_used": lambda w, sc, r: {"client_id": "jinfu-matrix", "nonce": "n-0"},
    ID + "save_access_token": lambda w, sc, r: {
        "access_token": w.unique("token-"),
        "client_id": "jinfu-matrix",
        "user_id": _target_user(w, sc, r),
        "scope": "openid",
        "expires_in": 300,
    },
    ID + "identity_for_access_token": lambda w, sc, r: {"access_token": "no-such-token"},
    ID + "revoke_user_tokens": lambda w, sc, r: {"user_id": _target_user(w, sc, r)},
    ID + "set_password": lambda w, sc, r: {"user_id": _fresh_user(w, sc), "password": PASSWORD},
    ID + "unlock_account": lambda w, sc, r: {"user_id": _fresh_user(w, sc)},
    ID + "ensure_demo_credentials": lambda w, sc, r: {"password": PASSWORD},
    AD + "list_organizations": lambda w, sc, r: {},
    AD + "list_users": lambda w, sc, r: {"organization_id": w.side(sc).bank_id},
    AD + "create_user": lambda w, sc, r: {
        "organization_id": w.side(sc).bank_id,
        "subject": w.unique("matrix-new-"),
        "display_name": "新用户",
        "roles": [Role.bank_officer.value],
    },
    AD + "change_user_roles": lambda w, sc, r: {
        "user_id": _fresh_user(w, sc),
        "roles": [Role.bank_officer.value, Role.bank_manager.value],
        "expected_roles": [Role.bank_officer.value],
    },
    AD + "deactivate_user": lambda w, sc, r: {"user_id": _fresh_user(w, sc)},
    AD + "reactivate_user": lambda w, sc, r: {"user_id": _fresh_user(w, sc, active=False)},
    AD + "lock_user": lambda w, sc, r: {"user_id": _fresh_user(w, sc), "minutes": 60},
    AD + "audit_log": lambda w, sc, r: {"page_size": 10},
    AD + "audit_chain_status": lambda w, sc, r: {},
    C + "grant_consent": lambda w, sc, r: {
        "institution_id": w.own.bank_id,
        "scopes": ["basic"],
        "purpose": "矩阵测试授权",
        "days": 30,
        "idempotency_key": w.unique("matrix-key-"),
        "enterprise_id": w.side(sc).enterprise_id,
    },
    C + "revoke_consent": lambda w, sc, r: {"consent_id": _fresh_grant(w, sc)},
    C + "list_consents": lambda w, sc, r: {"enterprise_id": w.side(sc).enterprise_id},
    C + "data_access_log": lambda w, sc, r: {"enterprise_id": w.side(sc).enterprise_id},
}
