from __future__ import annotations

from ninja import NinjaAPI

api = NinjaAPI(title="Greenroom API", version="1", docs_url="/docs")
