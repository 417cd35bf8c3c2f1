"""/scim/v2: trailing slashes optional, as identity providers differ."""

from __future__ import annotations

from django.urls import re_path

from . import views as v

E = v.scim_endpoint

urlpatterns = [
    re_path(r"^ServiceProviderConfig/?$", E({"GET": v.service_provider_config}), name="scim_spc"),
    re_path(r"^ResourceTypes/?$", E({"GET": v.resource_types}), name="scim_resource_types"),
    re_path(r"^ResourceTypes/(?P<name>[^/]+)/?$", E({"GET": v.resource_type})),
    re_path(r"^Schemas/?$", E({"GET": v.schemas}), name="scim_schemas"),
    re_path(r"^Schemas/(?P<urn>[^/]+)/?$", E({"GET": v.schema})),
    re_path(r"^Users/?$", E({"GET": v.list_users, "POST": v.create_user}), name="scim_users"),
    re_path(
        r"^Users/(?P<rid>[^/]+)/?$",
        E({"GET": v.get_user, "PUT": v.put_user, "PATCH": v.patch_user, "DELETE": v.delete_user}),
        name="scim_user",
    ),
    re_path(r"^Groups/?$", E({"GET": v.list_groups, "POST": v.create_group}), name="scim_groups"),
    re_path(
        r"^Groups/(?P<rid>[^/]+)/?$",
        E(
            {
                "GET": v.get_group,
                "PUT": v.put_group,
                "PATCH": v.patch_group,
                "DELETE": v.delete_group,
            }
        ),
        name="scim_group",
    ),
]
