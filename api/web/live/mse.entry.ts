// The live MSE player as a module a page imports: dist/web/live/mse.js.
export { MsePlayer, type MsePlayerOptions, type MseState, type MseStats } from "./mse-player.js";
