package sms

import (
	"context"
	"encoding/json"

	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// Write sends sms.send actions one by one, in order. Each action is one
// message to one phone (the hub queues one action per recipient), so each
// action's result is that recipient's outcome:
//
//   - applied: the provider accepted it; PlatformRef is the BizId / SerialNo;
//   - duplicate: the key was sent before (found by the dedupe_check lookup,
//     reported by the provider, or repeated within this batch) and nothing
//     was sent again;
//   - refused: a policy of the provider said no for this number: a
//     per-number frequency limit, the do-not-disturb list, the marketing
//     window, content control. Err names the reason and, when known, the wait
//     (RetryAfter) until the number can receive again; the hub must not retry
//     it blindly;
//   - failed: Err's class says whether a retry may help (unavailable,
//     throttled) or not (auth, invalid_config, permanent).
func (k *Connector) Write(ctx context.Context, actions []sdk.Action) []sdk.ActionResult {
	results := make([]sdk.ActionResult, len(actions))
	first := map[string]int{}
	for i, a := range actions {
		if j, ok := first[a.Key]; ok && a.Key != "" {
			results[i] = results[j]
			results[i].Key = a.Key
			if results[j].Status == sdk.StatusApplied {
				results[i].Status = sdk.StatusDuplicate
			}
			continue
		}
		first[a.Key] = i
		if err := ctx.Err(); err != nil {
			results[i] = sdk.ActionResult{Key: a.Key, Status: sdk.StatusFailed, Err: sdk.UnavailableError(err, "write cancelled before this action")}
			continue
		}
		results[i] = k.sendAction(ctx, a)
	}
	return results
}

func (k *Connector) sendAction(ctx context.Context, a sdk.Action) sdk.ActionResult {
	m, err := k.outgoing(a)
	if err != nil {
		return sdk.ActionResult{Key: a.Key, Status: sdk.StatusFailed, Err: err}
	}
	if k.dedupe {
		ref, found, err := k.p.sentBefore(ctx, m)
		if err != nil {
			// Sending without knowing could send twice: fail, the hub retries.
			return sdk.ActionResult{Key: a.Key, Status: sdk.StatusFailed, Err: err}
		}
		if found {
			return sdk.ActionResult{Key: a.Key, Status: sdk.StatusDuplicate, PlatformRef: ref}
		}
	}
	return k.p.send(ctx, m)
}

// outgoing validates an action against the sms.send contract.
func (k *Connector) outgoing(a sdk.Action) (outgoing, error) {
	if a.Type != ActionSend {
		return outgoing{}, sdk.PermanentError("", "sms cannot %q (actions: %s)", a.Type, ActionSend)
	}
	if a.Key == "" {
		return outgoing{}, sdk.PermanentError("", "%s needs an idempotency key: it is sent as OutId / SessionContext", ActionSend)
	}
	var phones []string
	for _, id := range a.Target {
		if id.Type == mapping.IDPhone {
			phones = append(phones, id.Value)
		}
	}
	if len(phones) != 1 {
		return outgoing{}, sdk.PermanentError("", "%s takes exactly one phone identity as target, got %d: the hub queues one action per recipient", ActionSend, len(phones))
	}
	phone, err := mapping.NormalizePhone(phones[0])
	if err != nil {
		return outgoing{}, sdk.PermanentError("", "%s: the target phone is malformed", ActionSend)
	}
	m := outgoing{key: a.Key, phone: phone, sign: k.sign, template: k.template, params: a.Params[ParamTemplateParams]}
	if v := a.Params[ParamSignName]; v != "" {
		m.sign = v
	}
	if v := a.Params[ParamTemplate]; v != "" {
		m.template = v
	}
	if m.template == "" {
		return outgoing{}, sdk.PermanentError("", "%s: no template (set param %s or the connection's %s)", ActionSend, ParamTemplate, FieldTemplate)
	}
	if m.params != "" && !json.Valid([]byte(m.params)) {
		return outgoing{}, sdk.PermanentError("", "%s: param %s is not JSON", ActionSend, ParamTemplateParams)
	}
	return m, nil
}
