"""``WarningRecord``: a site sanity warning as metrics.json stores it (``RunMetrics.warnings``).

The same fields as :class:`optimiser.errors.SiteWarning` (code, file, field, message, fix), so
a run directory says which warnings its inputs raised; the report lists them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from optimiser.errors import SiteWarning


class WarningRecord(BaseModel):
    """One site sanity warning (see :data:`optimiser.network.sanity.WARNING_CODES`)."""

    model_config = ConfigDict(extra="ignore")

    code: str
    file: str = ""
    field: str = ""
    message: str
    fix: str | None = None

    @classmethod
    def of(cls, w: SiteWarning, file: str | None = None) -> WarningRecord:
        """The record of a warning (``file`` replaces its file name, e.g. by a portable one)."""
        return cls(code=w.code, file=w.file if file is None else file, field=w.field, message=w.message, fix=w.fix)

    def __str__(self) -> str:
        return str(SiteWarning(self.code, self.file, self.field, self.message, self.fix))
