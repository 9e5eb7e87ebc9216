-- Runs once, when the postgres service's data volume is first initialised: the three databases of
-- the stack, named as in stack/settings.ts (the native stack creates them in stack/preflight.ts).
CREATE DATABASE platform_keycloak;
CREATE DATABASE platform_bff;
CREATE DATABASE platform_upstream;
