"""What `aibridge db status` says about the database on a terminal. Pure: a Status in, lines out."""

from __future__ import annotations


def status_notes(st, where: str) -> list[str]:
    """The lines above the migrations table: where the data is, the server, what is missing."""
    info = st.server
    lines = [f"database: {where}",
             f"server: PostgreSQL {info['server_version']}, database {info['database']} as {info['user']}, {info['size']}"]
    if st.missing_tables:
        lines.append(f"missing tables: {', '.join(st.missing_tables)} (run 'aibridge db migrate')")
    elif st.deployment:
        lines.append("the AI Bridge tables exist but were not created by aibridge (a deployment's database)")
    unbuilt = [i["index"] for i in st.indexes if i["state"] != "valid"]
    if unbuilt and not st.missing_tables:
        lines.append(f"aibridge's own indexes not built: {', '.join(unbuilt)} (see 'aibridge db optimize')")
    return lines
