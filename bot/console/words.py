"""The console's own words, Indonesian first, English second (the villagers' texts are in
texts/*.yaml; these are for office staff)."""

from __future__ import annotations

LANGUAGES = ("id", "en")

WORDS: dict[str, dict[str, str]] = {
    "id": {
        "title": "Konsol petugas desabot",
        "sign_in": "Masuk",
        "sign_out": "Keluar",
        "name": "Nama akun",
        "password": "Kata sandi",
        "signed_in_as": "Masuk sebagai",
        "wrong": "Nama akun atau kata sandi salah.",
        "too_many": "Terlalu banyak percobaan. Coba lagi dalam {minutes} menit.",
        "expired": "Silakan masuk lagi.",
        "sessions": "Sesi",
        "upcoming": "Sesi mendatang",
        "past": "Sesi yang sudah lewat",
        "none_upcoming": "Belum ada sesi mendatang.",
        "none_past": "Belum ada sesi yang lewat.",
        "when": "Waktu",
        "place": "Tempat",
        "code": "Kode",
        "seats": "Kursi",
        "taken": "terisi",
        "waiting": "menunggu",
        "checked_in": "hadir",
        "cancelled": "dibatalkan",
        "accounts": "Akun",
        "role": "Peran",
        "admin": "admin",
        "officer": "petugas",
        "active": "aktif",
        "disabled": "nonaktif",
        "since": "sejak",
        "accounts_help": "Akun dibuat dan dinonaktifkan di server: desabot staff add NAMA"
        " --role officer",
        "admin_only": "Halaman ini hanya untuk admin.",
        "not_found": "Halaman tidak ditemukan.",
        "refused": "Permintaan ditolak: kirim ulang dari halaman konsol.",
        "language": "English",
    },
    "en": {
        "title": "desabot staff console",
        "sign_in": "Sign in",
        "sign_out": "Sign out",
        "name": "Account name",
        "password": "Password",
        "signed_in_as": "Signed in as",
        "wrong": "Wrong account name or password.",
        "too_many": "Too many attempts. Try again in {minutes} minutes.",
        "expired": "Please sign in again.",
        "sessions": "Sessions",
        "upcoming": "Upcoming sessions",
        "past": "Past sessions",
        "none_upcoming": "No upcoming sessions yet.",
        "none_past": "No past sessions yet.",
        "when": "When",
        "place": "Place",
        "code": "Code",
        "seats": "Seats",
        "taken": "taken",
        "waiting": "waiting",
        "checked_in": "checked in",
        "cancelled": "cancelled",
        "accounts": "Accounts",
        "role": "Role",
        "admin": "admin",
        "officer": "officer",
        "active": "active",
        "disabled": "disabled",
        "since": "since",
        "accounts_help": "Accounts are created and disabled on the server: desabot staff add"
        " NAME --role officer",
        "admin_only": "This page is for admins only.",
        "not_found": "Page not found.",
        "refused": "Request refused: send it again from a console page.",
        "language": "Bahasa Indonesia",
    },
}


def words(lang: str) -> dict[str, str]:
    return WORDS.get(lang, WORDS["id"])
