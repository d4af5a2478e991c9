import express, { type ErrorRequestHandler, type Express } from "express";

/**
 * The HTTP surface of pscsd. The api reads and commands only through the services handed to it here;
 * it never opens the catalog or talks to a camera itself.
 */

export interface ApiServices {
  version: string;
  startedAt: number;
}

export function createApp(services: ApiServices): Express {
  const app = express();
  app.disable("x-powered-by");

  // Liveness only: answers while the event loop turns. Readiness and detail live elsewhere because a
  // liveness probe that checks dependencies gets a healthy process restarted for a camera's fault.
  app.get("/healthz", (_req, res) => {
    res.json({
      status: "ok",
      version: services.version,
      uptimeSeconds: Math.round((Date.now() - services.startedAt) / 1000),
    });
  });

  app.use((req, res) => {
    res
      .status(404)
      .type("application/problem+json")
      .json({
        type: "about:blank",
        title: "Not Found",
        status: 404,
        detail: `no route for ${req.method} ${req.path}`,
      });
  });

  const onError: ErrorRequestHandler = (err: { status?: number; message?: string }, _req, res, _next) => {
    const status = typeof err.status === "number" && err.status >= 400 && err.status < 600 ? err.status : 500;
    res
      .status(status)
      .type("application/problem+json")
      .json({ type: "about:blank", title: status >= 500 ? "Internal Server Error" : "Bad Request", status });
  };
  app.use(onError);
  return app;
}
