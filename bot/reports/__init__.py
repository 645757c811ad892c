"""The office's documents: a session's registrants as Excel and CSV, the printable Daftar
Hadir, the registrants per village. Made alike for the console, the staff's chat commands
and the command line, in the words of bot/reports/words.yaml."""
