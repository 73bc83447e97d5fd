import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { ObjectiveStore } from "../../src/catalog/objectives.js";
import { migrate } from "../../src/catalog/open.js";

describe("the RPO history in the catalog", () => {
  const store = () => {
    const db = new Database(":memory:");
    migrate(db);
    return new ObjectiveStore(db);
  };

  it("gives a window's points with the one before it, and forgets what is older than that one, per job", () => {
    const s = store();
    for (const at of [10, 20, 30, 40]) s.addPoint("a", { at, snapshotAt: at - 1 });
    s.addPoint("b", { at: 5, snapshotAt: null });
    expect(s.points("a", 25)).toEqual([{ at: 20, snapshotAt: 19 }, { at: 30, snapshotAt: 29 }, { at: 40, snapshotAt: 39 }]);
    s.forgetPointsBefore("a", 25);
    // 20 stays: it still gives the age from 25 on.
    expect(s.points("a", 0)).toEqual([{ at: 20, snapshotAt: 19 }, { at: 30, snapshotAt: 29 }, { at: 40, snapshotAt: 39 }]);
    s.forgetPointsBefore("b", 25);
    expect(s.lastPoint("b")).toEqual({ at: 5, snapshotAt: null });
    expect(s.lastPoint("a")).toEqual({ at: 40, snapshotAt: 39 });
  });
});
