-- The worker that executes a run ("host/pid/start-ticks"), so a later
-- moat process can tell a run whose worker died (worker_lost) from one that
-- another live process is still running.
ALTER TABLE runs ADD COLUMN worker TEXT NOT NULL DEFAULT '';
