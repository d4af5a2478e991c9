import { z } from "zod";

/**
 * A camera's id names its folder under the recordings root and appears in URLs and audit targets,
 * so it is short, lowercase and path-safe. The config and every route taking a camera check it here.
 */
const CAMERA_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/;

export const cameraIdSchema = z
  .string()
  .regex(
    CAMERA_ID_PATTERN,
    "expected 1-32 lowercase letters, digits or '-', starting with a letter or digit",
  );
