/* What the controllers of saqr-operator share: the release list of their state. */
#include "operator/operator.h"

#include "common/err.h"

int operator_defer_release(struct operator_ctx *ctx, void (*fn)(void *ud), void *ud)
{
	if (ctx->nrelease == OPERATOR_MAX_RELEASE) {
		fn(ud);
		return SAQR_ETOOBIG;
	}
	ctx->release[ctx->nrelease].fn = fn;
	ctx->release[ctx->nrelease].ud = ud;
	ctx->nrelease++;
	return 0;
}

void operator_release(struct operator_ctx *ctx)
{
	if (!ctx)
		return;
	while (ctx->nrelease > 0) {
		ctx->nrelease--;
		ctx->release[ctx->nrelease].fn(ctx->release[ctx->nrelease].ud);
	}
}
