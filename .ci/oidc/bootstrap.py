"""Sets up the Trust Anchor and the OpenID Provider of the conformance check.

Run with OIDC_ROLE and the other variables of fedtest/settings.py:
  bootstrap.py op                 migrate; the OP's entity configuration (keys made now), a user
  bootstrap.py ta                 migrate; the TA's entity configuration, the OP as descendant
  bootstrap.py onboard SUB FILE   (ta) registers SUB as a descendant with the federation JWKS
                                  in FILE, after the TA fetched and validated SUB's entity
                                  configuration (Django model validation, as the admin does)
  bootstrap.py policy SUB JSON    (ta) sets the metadata_policy the TA issues for SUB
  bootstrap.py trust-mark SUB     (ta) assigns SUB the RP profile: the TA issues it the RP trust
                                  mark, in the Subordinate Statement about SUB, and lists SUB
The TA issues the OP its trust mark (profile OP_PROFILE) at setup: the TA's list endpoint lists
only entities with a profile, and the statement the TA issues about each carries its marks.
Public keys are written to OIDC_STATE as JSON for the test (out-of-band trust anchor keys).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fedtest.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from spid_cie_oidc.entity.jwks import create_jwk, public_jwk_from_private_jwk  # noqa: E402
from spid_cie_oidc.entity.models import FederationEntityConfiguration  # noqa: E402

STATE = settings.STATE
TA, OP = settings.TA_ID, settings.OP_ID
# trust mark types (profile ids) of the SPID federation's shape
OP_PROFILE = "https://www.spid.gov.it/openid_provider/public"
RP_PROFILE = "https://www.spid.gov.it/openid_relying_party/public"
FISCAL_NUMBER = os.environ.get("OIDC_USER_FISCAL_NUMBER", "TINIT-RSSMRA85T10A562S")


def key(use):
    k = create_jwk()
    k["use"] = use
    return k


def public(keys):
    return [public_jwk_from_private_jwk(k) for k in keys]


def write(name, value):
    with open(os.path.join(STATE, name), "w") as f:
        json.dump(value, f)


def setup_op():
    call_command("migrate", verbosity=0, interactive=False)
    fed, core = [key("sig")], [key("sig")]
    algs = ["RS256", "ES256"]
    op = {
        "issuer": OP,
        "authorization_endpoint": f"{OP}/authorization",
        "token_endpoint": f"{OP}/token",
        "userinfo_endpoint": f"{OP}/userinfo",
        "revocation_endpoint": f"{OP}/revocation",
        "introspection_endpoint": f"{OP}/introspection",
        "jwks": {"keys": public(core)},
        "scopes_supported": ["openid", "offline_access"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "acr_values_supported": [
            "https://www.spid.gov.it/SpidL1",
            "https://www.spid.gov.it/SpidL2",
            "https://www.spid.gov.it/SpidL3",
        ],
        "subject_types_supported": ["pairwise"],
        "code_challenge_methods_supported": ["S256"],
        "claims_parameter_supported": True,
        "claims_supported": [
            "https://attributes.eid.gov.it/fiscal_number",
            "given_name",
            "family_name",
            "email",
        ],
        "request_parameter_supported": True,
        "request_uri_parameter_supported": False,
        "require_request_uri_registration": False,
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": algs,
        "id_token_signing_alg_values_supported": algs,
        "id_token_encryption_alg_values_supported": ["RSA-OAEP"],
        "id_token_encryption_enc_values_supported": ["A256CBC-HS512"],
        "userinfo_signing_alg_values_supported": algs,
        "userinfo_encryption_alg_values_supported": ["RSA-OAEP"],
        "userinfo_encryption_enc_values_supported": ["A256CBC-HS512"],
        "request_object_signing_alg_values_supported": algs,
        "request_object_encryption_alg_values_supported": ["RSA-OAEP"],
        "request_object_encryption_enc_values_supported": ["A256CBC-HS512"],
        "client_registration_types_supported": ["automatic"],
        "request_authentication_methods_supported": {"ar": ["request_object"]},
        "organization_name": "OP di prova",
    }
    FederationEntityConfiguration.objects.create(
        sub=OP,
        entity_type="openid_provider",
        authority_hints=[TA],
        jwks_fed=fed,
        jwks_core=core,
        metadata={
            "openid_provider": op,
            "federation_entity": {
                "organization_name": "OP di prova",
                "homepage_uri": OP,
                "contacts": ["ops@op.invalid"],
                "federation_resolve_endpoint": f"{OP}/resolve",
            },
        },
        is_active=True,
    )
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(
        username="mario", password=os.environ["OIDC_USER_PASSWORD"]
    )
    user.attributes = {
        "https://attributes.eid.gov.it/fiscal_number": FISCAL_NUMBER,
        "given_name": "Mario",
        "family_name": "Rossi",
        "email": "mario.rossi@example.invalid",
    }
    user.save()
    write("op_fed_jwks.json", {"keys": public(fed)})


def setup_ta():
    call_command("migrate", verbosity=0, interactive=False)
    fed = [key("sig")]
    FederationEntityConfiguration.objects.create(
        sub=TA,
        entity_type="federation_entity",
        jwks_fed=fed,
        jwks_core=[key("sig")],
        metadata={
            "federation_entity": {
                "organization_name": "Trust Anchor di prova",
                "homepage_uri": TA,
                "contacts": ["ops@ta.invalid"],
                "federation_fetch_endpoint": f"{TA}/fetch",
                "federation_list_endpoint": f"{TA}/list",
                "federation_resolve_endpoint": f"{TA}/resolve",
                "federation_trust_mark_status_endpoint": f"{TA}/trust_mark_status",
            }
        },
        constraints={"max_path_length": 1},
        trust_mark_issuers={OP_PROFILE: [TA], RP_PROFILE: [TA]},
        is_active=True,
    )
    from spid_cie_oidc.authority.models import (
        FederationDescendant,
        FederationEntityAssignedProfile,
        FederationEntityProfile,
    )

    with open(os.path.join(STATE, "op_fed_jwks.json")) as f:
        op_jwks = json.load(f)["keys"]
    # created without model validation: the OP is not serving yet
    op = FederationDescendant.objects.create(
        sub=OP, name="OP di prova", type="openid_provider", jwks=op_jwks, status="valid",
        is_active=True,
    )
    for name, category, profile_id in [
        ("spid op public", "openid_provider", OP_PROFILE),
        ("spid rp public", "openid_relying_party", RP_PROFILE),
    ]:
        FederationEntityProfile.objects.create(
            name=name, profile_category=category, profile_id=profile_id,
            trust_mark_template={"organization_type": "public"},
        )
    FederationEntityAssignedProfile.objects.create(
        descendant=op, profile=FederationEntityProfile.objects.get(profile_id=OP_PROFILE),
        issuer=FederationEntityConfiguration.objects.get(sub=TA),
    )
    write("ta_jwks.json", {"keys": public(fed)})


def onboard(sub, jwks_file):
    from spid_cie_oidc.authority.models import FederationDescendant

    with open(jwks_file) as f:
        jwks = json.load(f)["keys"]
    # An RP onboarded again under the same entity id (its keys rotated, or a test RP on a
    # port freed by an earlier one) replaces the old registration, as a TA operator would.
    FederationDescendant.objects.filter(sub=sub).delete()
    d = FederationDescendant(
        sub=sub,
        name="RP under test",
        type="openid_relying_party",
        jwks=jwks,
        status="valid",
        is_active=True,
    )
    # runs the TA's validators: fetches and validates SUB's entity configuration
    d.full_clean()
    d.save()
    print(json.dumps({"onboarded": sub, "kids": [k["kid"] for k in jwks]}))


def set_policy(sub, policy):
    from spid_cie_oidc.authority.models import FederationDescendant

    d = FederationDescendant.objects.get(sub=sub)
    d.metadata_policy = json.loads(policy)
    d.save()
    print(json.dumps({"policy": sub}))


def trust_mark(sub):
    from spid_cie_oidc.authority.models import (
        FederationDescendant,
        FederationEntityAssignedProfile,
        FederationEntityProfile,
    )

    a, _ = FederationEntityAssignedProfile.objects.get_or_create(
        descendant=FederationDescendant.objects.get(sub=sub),
        profile=FederationEntityProfile.objects.get(profile_id=RP_PROFILE),
        issuer=FederationEntityConfiguration.objects.get(sub=TA),
    )
    print(json.dumps({"trust_mark_type": RP_PROFILE, "sub": sub}))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "op":
        setup_op()
    elif cmd == "ta":
        setup_ta()
    elif cmd == "onboard":
        onboard(sys.argv[2], sys.argv[3])
    elif cmd == "policy":
        set_policy(sys.argv[2], sys.argv[3])
    elif cmd == "trust-mark":
        trust_mark(sys.argv[2])
    else:
        raise SystemExit(f"unknown command {cmd}")
