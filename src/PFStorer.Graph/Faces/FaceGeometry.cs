namespace PFStorer.Graph.Faces;

/// <summary>The box arithmetic of face-api's pipeline (docs/faces.md), kept in its order of operations.</summary>
public static class FaceGeometry
{
    /// <summary>Intersection over union of two boxes.</summary>
    public static double IoU(FaceBox a, FaceBox b)
    {
        double w = Math.Max(0.0, Math.Min(a.Right, b.Right) - Math.Max(a.X, b.X));
        double h = Math.Max(0.0, Math.Min(a.Bottom, b.Bottom) - Math.Max(a.Y, b.Y));
        double inter = w * h;
        return inter / (a.Area + b.Area - inter);
    }

    /// <summary>Greedy non-maximum suppression: indices kept, best score first; a box overlapping a kept one by more
    /// than <paramref name="iouThreshold"/> is dropped.</summary>
    public static List<int> NonMaxSuppression(IReadOnlyList<FaceBox> boxes, IReadOnlyList<double> scores, double iouThreshold)
    {
        // face-api sorts ascending with a stable sort and pops from the end: equal scores keep the later index first.
        var order = Enumerable.Range(0, scores.Count).OrderBy(i => scores[i]).ToList();
        var pick = new List<int>();
        while (order.Count > 0)
        {
            int current = order[^1];
            order.RemoveAt(order.Count - 1);
            pick.Add(current);
            order = order.Where(i => IoU(boxes[current], boxes[i]) <= iouThreshold).ToList();
        }
        return pick;
    }

    /// <summary>
    /// face-api's dlib-style alignment box for the recognition net: a square of side ⌊mean eye-to-mouth distance / 0.45⌋
    /// placed so the centre of (left eye, right eye, mouth) sits at (0.5, 0.43) of it; the corner is floored and
    /// clamped at 0, the side capped by the landmark crop's size plus the corner (as face-api does).
    /// </summary>
    public static FaceBox DlibAlignment(FaceLandmarks68 landmarks, int cropWidth, int cropHeight)
    {
        FacePoint l = landmarks.LeftEyeCenter, r = landmarks.RightEyeCenter, m = landmarks.MouthCenter;
        double Dist(FacePoint p) => Math.Sqrt((m.X - p.X) * (m.X - p.X) + (m.Y - p.Y) * (m.Y - p.Y));
        double eyeToMouth = (Dist(l) + Dist(r)) / 2;
        double size = Math.Floor(eyeToMouth / 0.45);
        double cx = (0 + l.X + r.X + m.X) / 3, cy = (0 + l.Y + r.Y + m.Y) / 3;
        double x = Math.Floor(Math.Max(0, cx - 0.5 * size)), y = Math.Floor(Math.Max(0, cy - 0.43 * size));
        return new FaceBox(x, y, Math.Min(size, cropWidth + x), Math.Min(size, cropHeight + y));
    }
}
