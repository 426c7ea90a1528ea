"""The bundled OpenID Connect provider (Flask + Authlib's server components), for development, demos
and small deployments. Production may point the apps at any OIDC provider instead (see README)."""
