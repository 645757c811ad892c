"""The features, in the order the router tries them within a priority group. Adding one is a
new module here, one line below, and its texts in texts/*.yaml."""

from bot.core.feature import Feature
from bot.features import (
    announcements,
    faq,
    menu,
    officer,
    privacy,
    signup,
    staff_broadcasts,
    staff_reports,
    staff_sessions,
)

FEATURES: tuple[Feature, ...] = (
    menu.feature,
    faq.feature,
    signup.feature,
    announcements.feature,
    officer.feature,
    privacy.feature,
    staff_sessions.feature,
    staff_broadcasts.feature,
    staff_reports.feature,
)
