-- The agent firewall's network calls (boundary_logs), as a deployment at 2026-08 keeps them:
-- one row per audited action of a Boundary proxy session; matched_rule NULL means denied.
-- Interceptions link to it through agent_firewall_session_id / agent_firewall_sequence_number.
-- Never created in a Coder deployment's database (see 0004): Coder creates it there itself.
DO $$
BEGIN
    IF to_regclass('workspaces') IS NOT NULL OR to_regclass('templates') IS NOT NULL THEN
        RETURN;
    END IF;

    CREATE TABLE IF NOT EXISTS boundary_logs (
        id uuid NOT NULL PRIMARY KEY,
        session_id uuid NOT NULL,
        sequence_number integer NOT NULL CONSTRAINT boundary_logs_sequence_number_check CHECK (sequence_number >= 0),
        captured_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL,
        proto text NOT NULL DEFAULT '',
        method text NOT NULL DEFAULT '',
        detail text NOT NULL DEFAULT '',
        matched_rule text,
        owner_id uuid CONSTRAINT boundary_logs_owner_id_fkey REFERENCES users (id) ON DELETE SET NULL
    );
    CREATE INDEX IF NOT EXISTS idx_boundary_logs_captured_at ON boundary_logs (captured_at);
    CREATE INDEX IF NOT EXISTS idx_boundary_logs_session_seq
        ON boundary_logs (session_id, sequence_number) INCLUDE (matched_rule);
END
$$;
