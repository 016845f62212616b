"""Routes of the two roles (see settings.py)."""
from django.conf import settings
from django.urls import path

if settings.ROLE == "ta":
    from spid_cie_oidc.authority.urls import urlpatterns as _authority
    from spid_cie_oidc.entity.urls import urlpatterns as _entity

    urlpatterns = [*_entity, *_authority]
else:
    from spid_cie_oidc.entity.views import entity_configuration, resolve_entity_statement
    from spid_cie_oidc.provider.urls import urlpatterns as _provider

    urlpatterns = [
        *_provider,
        path("oidc/op/.well-known/openid-federation", entity_configuration),
        path("oidc/op/resolve", resolve_entity_statement),
    ]
