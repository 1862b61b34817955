package engine

import "context"

// Check asks a connection's plugin to verify its credentials with the
// platform, with the config a sync would give it: the connection's config
// with the patch its plugin persisted (rotated tokens) on top, and the
// connection's host services, so a token refreshed while checking is kept.
func (e *Engine) Check(ctx context.Context, tenantID, connID string) error {
	tenant, err := e.cfg.Tenant(tenantID)
	if err != nil {
		return err
	}
	conn, err := tenant.Connection(connID)
	if err != nil {
		return err
	}
	inst, err := e.instance(tenant, conn)
	if err != nil {
		return err
	}
	cfg, err := e.configJSON(ctx, tenant, conn)
	if err != nil {
		return err
	}
	remote, err := inst.Remote(ctx)
	if err != nil {
		return err
	}
	return remote.Check(ctx, cfg)
}
