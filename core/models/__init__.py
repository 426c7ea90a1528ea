"""Every table of the platform; importing this module makes ``SQLModel.metadata`` complete."""

from core.models.credit import CreditScore, RiskRule, RiskSignal, ScoringModel
from core.models.enterprise import (
    Enterprise,
    EnterpriseCreate,
    EnterprisePublic,
    EnterpriseUpdate,
    FinancialStatement,
    GovRecord,
    Shareholding,
)
from core.models.financing import (
    Application,
    ApplicationCreate,
    ApplicationEvent,
    ApplicationPublic,
    FinancingNeed,
    FinancingNeedCreate,
    FinancingNeedPublic,
    Loan,
    RepaymentInstallment,
)
from core.models.identity import (
    Organization,
    OrganizationCreate,
    OrganizationPublic,
    User,
    UserCreate,
    UserPublic,
)
from core.models.oversight import (
    AuditEvent,
    ConsentGrant,
    DataAccessLog,
    DataQualityIssue,
    IdempotencyKey,
    Notification,
)
from core.models.product import Product, ProductCreate, ProductPublic

__all__ = [
    "Application",
    "ApplicationCreate",
    "ApplicationEvent",
    "ApplicationPublic",
    "AuditEvent",
    "ConsentGrant",
    "CreditScore",
    "DataAccessLog",
    "DataQualityIssue",
    "Enterprise",
    "EnterpriseCreate",
    "EnterprisePublic",
    "EnterpriseUpdate",
    "FinancialStatement",
    "FinancingNeed",
    "FinancingNeedCreate",
    "FinancingNeedPublic",
    "GovRecord",
    "IdempotencyKey",
    "Loan",
    "Notification",
    "Organization",
    "OrganizationCreate",
    "OrganizationPublic",
    "Product",
    "ProductCreate",
    "ProductPublic",
    "RepaymentInstallment",
    "RiskRule",
    "RiskSignal",
    "ScoringModel",
    "Shareholding",
    "User",
    "UserCreate",
    "UserPublic",
]
